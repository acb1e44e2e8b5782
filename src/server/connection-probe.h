// Tells whether the client of an HTTP request has gone away, while the handler is still busy.
//
// cpp-httplib (0.11) gives a handler no access to its socket and notices a closed peer only when a
// write fails, which for a request still waiting in the queue, still prefilling, or answered
// without streaming is never. So the probe finds the handler's own socket by its address tuple
// (local port, peer address, peer port — unique among open TCP sockets) and asks the kernel:
// readable with zero bytes (FIN) or an error (RST) means the client is gone.
//
// Invariant: the socket stays open while its handler runs (cpp-httplib closes it only after
// the handler and its content provider return), so probing from the handler's thread never
// touches a reused descriptor.
#pragma once
#include <string>

namespace lf::server {

class connection_probe {
public:
    connection_probe() = default;
    // Finds the socket; a probe that finds none always answers "alive".
    connection_probe(const std::string& local_addr, int local_port, const std::string& remote_addr, int remote_port);

    // True once the peer has closed or reset the connection.
    bool peer_gone() const;
    bool found() const { return fd_ >= 0; }

private:
    int fd_ = -1;
};

}  // namespace lf::server
