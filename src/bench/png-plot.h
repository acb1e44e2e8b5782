// A small line-plot rasterizer that writes PNG without zlib: the image data goes into stored
// (uncompressed) deflate blocks, which every PNG reader accepts. Enough to draw throughput
// against concurrency for a handful of series; text uses a built-in 5x7 pixel font (ASCII).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace lf {

struct plot_series {
    std::string name;
    std::vector<double> x, y;  // same length; drawn in x order
};

struct plot_spec {
    std::string title;
    std::string x_label;
    std::string y_label;
    std::vector<plot_series> series;
    int width = 800;
    int height = 500;
};

// PNG bytes of an 8-bit RGB image (rgb: [height, width, 3] row-major).
std::vector<uint8_t> encode_png_rgb(const uint8_t* rgb, int width, int height);

// Renders the plot: y from 0 to a rounded maximum, one x tick per distinct x value.
std::vector<uint8_t> render_line_plot_png(const plot_spec& spec);

// CRC-32 (PNG chunks) and Adler-32 (zlib stream), exposed for tests.
uint32_t crc32_png(const uint8_t* data, size_t n, uint32_t crc = 0);
uint32_t adler32(const uint8_t* data, size_t n);

}  // namespace lf
