// The PNG writer against the format: chunk CRCs, the zlib stream (stored blocks, Adler-32)
// decoded back to the exact pixels, and the plot's size.
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "bench/png-plot.h"
#include "core/error.h"

using namespace lf;

namespace {

uint32_t be32(const uint8_t* p) { return uint32_t(p[0]) << 24 | uint32_t(p[1]) << 16 | uint32_t(p[2]) << 8 | p[3]; }

struct decoded {
    int width = 0, height = 0;
    std::vector<uint8_t> raw;  // filtered scanlines as stored
};

// Walks the chunks, checks every CRC, and undoes the stored-block zlib stream.
decoded decode(const std::vector<uint8_t>& png) {
    static const uint8_t sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
    EXPECT_EQ(std::memcmp(png.data(), sig, 8), 0);
    decoded d;
    std::vector<uint8_t> z;
    size_t pos = 8;
    bool end = false;
    while (pos + 12 <= png.size()) {
        uint32_t len = be32(&png[pos]);
        std::string type(reinterpret_cast<const char*>(&png[pos + 4]), 4);
        EXPECT_EQ(crc32_png(&png[pos + 4], len + 4), be32(&png[pos + 8 + len])) << type;
        const uint8_t* data = &png[pos + 8];
        if (type == "IHDR") {
            d.width = static_cast<int>(be32(data));
            d.height = static_cast<int>(be32(data + 4));
            EXPECT_EQ(data[8], 8);
            EXPECT_EQ(data[9], 2);
        } else if (type == "IDAT") {
            z.insert(z.end(), data, data + len);
        } else if (type == "IEND") {
            end = true;
        }
        pos += 12 + len;
    }
    EXPECT_TRUE(end);
    EXPECT_EQ(pos, png.size());
    EXPECT_EQ((z[0] * 256 + z[1]) % 31, 0);  // zlib header check bits
    size_t p = 2;
    for (bool last = false; !last;) {
        last = z[p] & 1;
        EXPECT_EQ(z[p] & 6, 0);  // stored block
        uint16_t n = static_cast<uint16_t>(z[p + 1] | z[p + 2] << 8);
        uint16_t nn = static_cast<uint16_t>(z[p + 3] | z[p + 4] << 8);
        EXPECT_EQ(static_cast<uint16_t>(~n), nn);
        d.raw.insert(d.raw.end(), &z[p + 5], &z[p + 5] + n);
        p += 5 + n;
    }
    EXPECT_EQ(be32(&z[p]), adler32(d.raw.data(), d.raw.size()));
    EXPECT_EQ(p + 4, z.size());
    return d;
}

}  // namespace

TEST(Png, ChecksumsMatchKnownValues) {
    const char* s = "123456789";
    EXPECT_EQ(crc32_png(reinterpret_cast<const uint8_t*>(s), 9), 0xCBF43926u);
    const char* w = "Wikipedia";
    EXPECT_EQ(adler32(reinterpret_cast<const uint8_t*>(w), 9), 0x11E60398u);
}

TEST(Png, PixelsRoundTripThroughSeveralStoredBlocks) {
    // 300 x 100 RGB = 90,100 bytes of scanlines: more than one 65,535-byte block.
    const int w = 300, h = 100;
    std::vector<uint8_t> rgb(static_cast<size_t>(w) * h * 3);
    for (size_t i = 0; i < rgb.size(); ++i) rgb[i] = static_cast<uint8_t>(i * 7 + i / 13);
    decoded d = decode(encode_png_rgb(rgb.data(), w, h));
    ASSERT_EQ(d.width, w);
    ASSERT_EQ(d.height, h);
    ASSERT_EQ(d.raw.size(), static_cast<size_t>(h) * (w * 3 + 1));
    for (int y = 0; y < h; ++y) {
        const uint8_t* line = &d.raw[static_cast<size_t>(y) * (w * 3 + 1)];
        ASSERT_EQ(line[0], 0) << "filter byte of row " << y;
        ASSERT_EQ(std::memcmp(line + 1, &rgb[static_cast<size_t>(y) * w * 3], w * 3), 0) << "row " << y;
    }
}

TEST(Png, PlotHasTheRequestedSizeAndInk) {
    plot_spec s;
    s.title = "Aggregate throughput vs concurrency";
    s.x_label = "concurrent requests";
    s.y_label = "tok/s";
    s.series = {{"leapfrog", {1, 2, 4}, {100, 180, 300}}, {"llama.cpp", {1, 2, 4}, {90, 150, 210}}};
    s.width = 640;
    s.height = 400;
    decoded d = decode(render_line_plot_png(s));
    EXPECT_EQ(d.width, 640);
    EXPECT_EQ(d.height, 400);
    size_t colored = 0, dark = 0;
    const size_t stride = 640 * 3 + 1;
    for (int y = 0; y < 400; ++y)
        for (int x = 0; x < 640; ++x) {
            const uint8_t* p = &d.raw[static_cast<size_t>(y) * stride + 1 + static_cast<size_t>(x) * 3];
            if (p[0] != p[1] || p[1] != p[2]) ++colored;
            if (p[0] < 64 && p[1] < 64 && p[2] < 64) ++dark;
        }
    EXPECT_GT(colored, 500u);  // two series: lines, markers, legend boxes
    EXPECT_GT(dark, 500u);     // axes and text
}

TEST(Png, BadInputIsAnError) {
    plot_spec s;
    s.width = 10;
    EXPECT_THROW(render_line_plot_png(s), lf::error);
    plot_spec t;
    t.series = {{"x", {1, 2}, {1}}};
    EXPECT_THROW(render_line_plot_png(t), lf::error);
    EXPECT_THROW(encode_png_rgb(nullptr, 0, 5), lf::error);
}
