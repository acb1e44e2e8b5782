// A file's bytes are the same whether it is mapped or read into huge-page memory (--no-mmap), the
// copy cannot be written through, and bad paths fail with the path in the message.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <cstdint>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/huge-buffer.h"
#include "core/mmap-file.h"

using namespace lf;

namespace {

std::string temp_path(const std::string& name) { return ::testing::TempDir() + "/leapfrog-" + name + "-" + std::to_string(::getpid()); }

std::vector<uint8_t> write_random_file(const std::string& path, size_t n) {
    std::vector<uint8_t> bytes(n);
    std::mt19937 rng(7);
    for (auto& b : bytes) b = static_cast<uint8_t>(rng());
    std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(n));
    return bytes;
}

}  // namespace

TEST(MmapFile, CopyHoldsTheSameBytesAsTheMap) {
    // Sizes around the 2 MiB page: one byte, just under, exactly, just over.
    for (size_t n : {size_t{1}, (size_t{2} << 20) - 3, size_t{2} << 20, (size_t{2} << 20) + 4097}) {
        const std::string path = temp_path("bytes");
        const auto want = write_random_file(path, n);
        mmap_file mapped(path), copied(path, file_load::copy);
        ASSERT_EQ(mapped.size(), n);
        ASSERT_EQ(copied.size(), n);
        EXPECT_EQ(std::memcmp(mapped.data(), want.data(), n), 0);
        EXPECT_EQ(std::memcmp(copied.data(), want.data(), n), 0) << n << " bytes";
        EXPECT_EQ(reinterpret_cast<uintptr_t>(copied.data()) % (size_t{2} << 20), 0u) << "starts on a 2 MiB boundary";
        mmap_file moved = std::move(copied);  // the bytes move with the object
        EXPECT_EQ(copied.data(), nullptr);
        EXPECT_EQ(std::memcmp(moved.data(), want.data(), n), 0);
        std::remove(path.c_str());
    }
}

TEST(MmapFile, EmptyFileGivesNoBytesInBothModes) {
    const std::string path = temp_path("empty");
    write_random_file(path, 0);
    for (file_load how : {file_load::map, file_load::copy}) {
        mmap_file f(path, how);
        EXPECT_EQ(f.size(), 0u);
    }
    std::remove(path.c_str());
}

TEST(MmapFile, BadPathsNameThePath) {
    for (file_load how : {file_load::map, file_load::copy}) {
        try {
            mmap_file f("/nonexistent/leapfrog-model.gguf", how);
            FAIL() << "opened a missing file";
        } catch (const error& e) {
            EXPECT_NE(std::string(e.what()).find("/nonexistent/leapfrog-model.gguf"), std::string::npos) << e.what();
        }
        try {
            mmap_file f(::testing::TempDir(), how);
            FAIL() << "opened a directory";
        } catch (const error& e) {
            EXPECT_NE(std::string(e.what()).find("not a regular file"), std::string::npos) << e.what();
        }
    }
}

TEST(MmapFile, CopyIsReadOnly) {
    const std::string path = temp_path("ro");
    write_random_file(path, 4096);
    // A write into the copy must fault, as it would into the read-only map.
    EXPECT_EXIT(
        {
            mmap_file f(path, file_load::copy);
            const_cast<uint8_t*>(f.data())[10] = 1;
            std::exit(0);
        },
        ::testing::KilledBySignal(SIGSEGV), "");
    std::remove(path.c_str());
}

TEST(HugeBuffer, IsZeroedAlignedAndWritable) {
    huge_buffer b((size_t{3} << 20) + 5);
    ASSERT_NE(b.data(), nullptr);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(b.data()) % (size_t{2} << 20), 0u);
    for (size_t i = 0; i < b.size(); i += 4093) EXPECT_EQ(b.data()[i], 0);
    b.data()[b.size() - 1] = 42;
    EXPECT_EQ(b.data()[b.size() - 1], 42);
    huge_buffer empty(0);
    EXPECT_EQ(empty.data(), nullptr);
}
