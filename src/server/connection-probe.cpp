// Finding a handler's socket and asking the kernel whether its peer is gone (see connection-probe.h).
#include "server/connection-probe.h"

#include <dirent.h>
#include <netdb.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

namespace lf::server {

namespace {

// Numeric host and port of a socket address, formatted as cpp-httplib formats req.remote_addr.
bool host_port(const sockaddr_storage& ss, socklen_t len, std::string& host, int& port) {
    char h[NI_MAXHOST], s[NI_MAXSERV];
    if (getnameinfo(reinterpret_cast<const sockaddr*>(&ss), len, h, sizeof h, s, sizeof s,
                    NI_NUMERICHOST | NI_NUMERICSERV) != 0)
        return false;
    host = h;
    port = std::atoi(s);
    return true;
}

bool matches(int fd, int local_port, const std::string& remote_addr, int remote_port) {
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISSOCK(st.st_mode)) return false;
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    std::string host;
    int port = -1;
    if (getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0 || !host_port(ss, len, host, port) ||
        port != local_port)
        return false;
    len = sizeof ss;
    if (getpeername(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0 || !host_port(ss, len, host, port)) return false;
    return port == remote_port && host == remote_addr;
}

}  // namespace

connection_probe::connection_probe(const std::string&, int local_port, const std::string& remote_addr,
                                   int remote_port) {
    if (local_port <= 0 || remote_port <= 0) return;
    if (DIR* d = opendir("/proc/self/fd")) {
        while (dirent* e = readdir(d)) {
            char* end = nullptr;
            long fd = std::strtol(e->d_name, &end, 10);
            if (end == e->d_name || *end != '\0') continue;
            if (matches(static_cast<int>(fd), local_port, remote_addr, remote_port)) {
                fd_ = static_cast<int>(fd);
                break;
            }
        }
        closedir(d);
    }
}

bool connection_probe::peer_gone() const {
    if (fd_ < 0) return false;
    char c;
    ssize_t n = recv(fd_, &c, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n == 0) return true;
    if (n < 0) return errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR;
    return false;
}

}  // namespace lf::server
