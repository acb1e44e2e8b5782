// PNG encoding with stored deflate blocks and a minimal line-plot rasterizer; see png-plot.h.
#include "bench/png-plot.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <set>

#include <fmt/format.h>

#include "core/error.h"

namespace lf {

namespace {

// 5x7 font for ASCII 0x20..0x7E: five column bytes per glyph, bit 0 = top row.
const uint8_t k_font[95][5] = {
    {0x00, 0x00, 0x00, 0x00, 0x00}, {0x00, 0x00, 0x5F, 0x00, 0x00}, {0x00, 0x07, 0x00, 0x07, 0x00},
    {0x14, 0x7F, 0x14, 0x7F, 0x14}, {0x24, 0x2A, 0x7F, 0x2A, 0x12}, {0x23, 0x13, 0x08, 0x64, 0x62},
    {0x36, 0x49, 0x55, 0x22, 0x50}, {0x00, 0x05, 0x03, 0x00, 0x00}, {0x00, 0x1C, 0x22, 0x41, 0x00},
    {0x00, 0x41, 0x22, 0x1C, 0x00}, {0x08, 0x2A, 0x1C, 0x2A, 0x08}, {0x08, 0x08, 0x3E, 0x08, 0x08},
    {0x00, 0x50, 0x30, 0x00, 0x00}, {0x08, 0x08, 0x08, 0x08, 0x08}, {0x00, 0x60, 0x60, 0x00, 0x00},
    {0x20, 0x10, 0x08, 0x04, 0x02}, {0x3E, 0x51, 0x49, 0x45, 0x3E}, {0x00, 0x42, 0x7F, 0x40, 0x00},
    {0x42, 0x61, 0x51, 0x49, 0x46}, {0x21, 0x41, 0x45, 0x4B, 0x31}, {0x18, 0x14, 0x12, 0x7F, 0x10},
    {0x27, 0x45, 0x45, 0x45, 0x39}, {0x3C, 0x4A, 0x49, 0x49, 0x30}, {0x01, 0x71, 0x09, 0x05, 0x03},
    {0x36, 0x49, 0x49, 0x49, 0x36}, {0x06, 0x49, 0x49, 0x29, 0x1E}, {0x00, 0x36, 0x36, 0x00, 0x00},
    {0x00, 0x56, 0x36, 0x00, 0x00}, {0x00, 0x08, 0x14, 0x22, 0x41}, {0x14, 0x14, 0x14, 0x14, 0x14},
    {0x41, 0x22, 0x14, 0x08, 0x00}, {0x02, 0x01, 0x51, 0x09, 0x06}, {0x32, 0x49, 0x79, 0x41, 0x3E},
    {0x7E, 0x11, 0x11, 0x11, 0x7E}, {0x7F, 0x49, 0x49, 0x49, 0x36}, {0x3E, 0x41, 0x41, 0x41, 0x22},
    {0x7F, 0x41, 0x41, 0x22, 0x1C}, {0x7F, 0x49, 0x49, 0x49, 0x41}, {0x7F, 0x09, 0x09, 0x01, 0x01},
    {0x3E, 0x41, 0x41, 0x51, 0x32}, {0x7F, 0x08, 0x08, 0x08, 0x7F}, {0x00, 0x41, 0x7F, 0x41, 0x00},
    {0x20, 0x40, 0x41, 0x3F, 0x01}, {0x7F, 0x08, 0x14, 0x22, 0x41}, {0x7F, 0x40, 0x40, 0x40, 0x40},
    {0x7F, 0x02, 0x04, 0x02, 0x7F}, {0x7F, 0x04, 0x08, 0x10, 0x7F}, {0x3E, 0x41, 0x41, 0x41, 0x3E},
    {0x7F, 0x09, 0x09, 0x09, 0x06}, {0x3E, 0x41, 0x51, 0x21, 0x5E}, {0x7F, 0x09, 0x19, 0x29, 0x46},
    {0x46, 0x49, 0x49, 0x49, 0x31}, {0x01, 0x01, 0x7F, 0x01, 0x01}, {0x3F, 0x40, 0x40, 0x40, 0x3F},
    {0x1F, 0x20, 0x40, 0x20, 0x1F}, {0x7F, 0x20, 0x18, 0x20, 0x7F}, {0x63, 0x14, 0x08, 0x14, 0x63},
    {0x03, 0x04, 0x78, 0x04, 0x03}, {0x61, 0x51, 0x49, 0x45, 0x43}, {0x00, 0x00, 0x7F, 0x41, 0x41},
    {0x02, 0x04, 0x08, 0x10, 0x20}, {0x41, 0x41, 0x7F, 0x00, 0x00}, {0x04, 0x02, 0x01, 0x02, 0x04},
    {0x40, 0x40, 0x40, 0x40, 0x40}, {0x00, 0x01, 0x02, 0x04, 0x00}, {0x20, 0x54, 0x54, 0x54, 0x78},
    {0x7F, 0x48, 0x44, 0x44, 0x38}, {0x38, 0x44, 0x44, 0x44, 0x20}, {0x38, 0x44, 0x44, 0x48, 0x7F},
    {0x38, 0x54, 0x54, 0x54, 0x18}, {0x08, 0x7E, 0x09, 0x01, 0x02}, {0x08, 0x14, 0x54, 0x54, 0x3C},
    {0x7F, 0x08, 0x04, 0x04, 0x78}, {0x00, 0x44, 0x7D, 0x40, 0x00}, {0x20, 0x40, 0x44, 0x3D, 0x00},
    {0x00, 0x7F, 0x10, 0x28, 0x44}, {0x00, 0x41, 0x7F, 0x40, 0x00}, {0x7C, 0x04, 0x18, 0x04, 0x78},
    {0x7C, 0x08, 0x04, 0x04, 0x78}, {0x38, 0x44, 0x44, 0x44, 0x38}, {0x7C, 0x14, 0x14, 0x14, 0x08},
    {0x08, 0x14, 0x14, 0x18, 0x7C}, {0x7C, 0x08, 0x04, 0x04, 0x08}, {0x48, 0x54, 0x54, 0x54, 0x20},
    {0x04, 0x3F, 0x44, 0x40, 0x20}, {0x3C, 0x40, 0x40, 0x20, 0x7C}, {0x1C, 0x20, 0x40, 0x20, 0x1C},
    {0x3C, 0x40, 0x30, 0x40, 0x3C}, {0x44, 0x28, 0x10, 0x28, 0x44}, {0x0C, 0x50, 0x50, 0x50, 0x3C},
    {0x44, 0x64, 0x54, 0x4C, 0x44}, {0x00, 0x08, 0x36, 0x41, 0x00}, {0x00, 0x00, 0x7F, 0x00, 0x00},
    {0x00, 0x41, 0x36, 0x08, 0x00}, {0x08, 0x04, 0x08, 0x10, 0x08},
};

using rgb_t = std::array<uint8_t, 3>;

const rgb_t k_palette[] = {{31, 119, 180}, {255, 127, 14}, {44, 160, 44}, {214, 39, 40},
                           {148, 103, 189}, {140, 86, 75}, {227, 119, 194}, {127, 127, 127}};

struct canvas {
    int w, h;
    std::vector<uint8_t> px;  // u8 [h, w, 3]
    canvas(int w_, int h_) : w(w_), h(h_), px(static_cast<size_t>(w_) * h_ * 3, 255) {}
    void set(int x, int y, rgb_t c) {
        if (x < 0 || y < 0 || x >= w || y >= h) return;
        uint8_t* p = &px[(static_cast<size_t>(y) * w + x) * 3];
        p[0] = c[0];
        p[1] = c[1];
        p[2] = c[2];
    }
    void rect(int x0, int y0, int x1, int y1, rgb_t c) {
        for (int y = y0; y <= y1; ++y)
            for (int x = x0; x <= x1; ++x) set(x, y, c);
    }
    // Bresenham with a square pen of side `thick`.
    void line(int x0, int y0, int x1, int y1, rgb_t c, int thick) {
        int dx = std::abs(x1 - x0), sx = x0 < x1 ? 1 : -1, dy = -std::abs(y1 - y0), sy = y0 < y1 ? 1 : -1, err = dx + dy;
        const int lo = -(thick - 1) / 2, hi = thick / 2;
        for (;;) {
            rect(x0 + lo, y0 + lo, x0 + hi, y0 + hi, c);
            if (x0 == x1 && y0 == y1) break;
            int e2 = 2 * err;
            if (e2 >= dy) { err += dy; x0 += sx; }
            if (e2 <= dx) { err += dx; y0 += sy; }
        }
    }
    void text(int x, int y, const std::string& s, rgb_t c, int scale = 1) {
        for (unsigned char ch : s) {
            if (ch < 0x20 || ch > 0x7e) ch = '?';
            const uint8_t* g = k_font[ch - 0x20];
            for (int col = 0; col < 5; ++col)
                for (int row = 0; row < 7; ++row)
                    if (g[col] >> row & 1) rect(x + col * scale, y + row * scale, x + col * scale + scale - 1, y + row * scale + scale - 1, c);
            x += 6 * scale;
        }
    }
    static int text_width(const std::string& s, int scale = 1) { return static_cast<int>(s.size()) * 6 * scale; }
};

void put_u32(std::vector<uint8_t>& out, uint32_t v) {
    for (int i = 3; i >= 0; --i) out.push_back(static_cast<uint8_t>(v >> (8 * i)));
}

void put_chunk(std::vector<uint8_t>& out, const char* type, const std::vector<uint8_t>& data) {
    put_u32(out, static_cast<uint32_t>(data.size()));
    const size_t start = out.size();
    out.insert(out.end(), type, type + 4);
    out.insert(out.end(), data.begin(), data.end());
    put_u32(out, crc32_png(out.data() + start, out.size() - start));
}

// A tick step of 1, 2 or 5 times a power of ten giving about `n` intervals up to `max`.
double nice_step(double max, int n) {
    double raw = max / n;
    double p = std::pow(10.0, std::floor(std::log10(raw)));
    for (double m : {1.0, 2.0, 5.0, 10.0})
        if (m * p >= raw) return m * p;
    return 10 * p;
}

std::string num_label(double v) {
    if (v == std::floor(v) && std::fabs(v) < 1e9) return fmt::format("{:.0f}", v);
    return fmt::format("{:.3g}", v);
}

}  // namespace

uint32_t crc32_png(const uint8_t* data, size_t n, uint32_t crc) {
    static const auto table = [] {
        std::array<uint32_t, 256> t{};
        for (uint32_t i = 0; i < 256; ++i) {
            uint32_t c = i;
            for (int k = 0; k < 8; ++k) c = c & 1 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
            t[i] = c;
        }
        return t;
    }();
    crc = ~crc;
    for (size_t i = 0; i < n; ++i) crc = table[(crc ^ data[i]) & 0xFF] ^ (crc >> 8);
    return ~crc;
}

uint32_t adler32(const uint8_t* data, size_t n) {
    uint32_t a = 1, b = 0;
    for (size_t i = 0; i < n; ++i) {
        a = (a + data[i]) % 65521;
        b = (b + a) % 65521;
    }
    return (b << 16) | a;
}

std::vector<uint8_t> encode_png_rgb(const uint8_t* rgb, int width, int height) {
    if (width <= 0 || height <= 0) fail("PNG size {}x{} is empty", width, height);
    // Filter type 0 (none) before every scanline.
    const size_t stride = static_cast<size_t>(width) * 3;
    std::vector<uint8_t> raw;
    raw.reserve((stride + 1) * static_cast<size_t>(height));
    for (int y = 0; y < height; ++y) {
        raw.push_back(0);
        raw.insert(raw.end(), rgb + stride * static_cast<size_t>(y), rgb + stride * static_cast<size_t>(y + 1));
    }
    // zlib stream: header (deflate, 32K window, no dictionary), stored blocks of ≤ 65535 bytes,
    // Adler-32 of the raw data.
    std::vector<uint8_t> z = {0x78, 0x01};
    size_t pos = 0;
    do {
        const size_t n = std::min<size_t>(65535, raw.size() - pos);
        const bool last = pos + n == raw.size();
        z.push_back(last ? 1 : 0);
        z.push_back(static_cast<uint8_t>(n & 0xFF));
        z.push_back(static_cast<uint8_t>(n >> 8));
        z.push_back(static_cast<uint8_t>(~n & 0xFF));
        z.push_back(static_cast<uint8_t>((~n >> 8) & 0xFF));
        z.insert(z.end(), raw.begin() + static_cast<std::ptrdiff_t>(pos), raw.begin() + static_cast<std::ptrdiff_t>(pos + n));
        pos += n;
    } while (pos < raw.size());
    put_u32(z, adler32(raw.data(), raw.size()));

    std::vector<uint8_t> out = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
    std::vector<uint8_t> ihdr;
    put_u32(ihdr, static_cast<uint32_t>(width));
    put_u32(ihdr, static_cast<uint32_t>(height));
    ihdr.insert(ihdr.end(), {8, 2, 0, 0, 0});  // 8-bit, RGB, deflate, adaptive filters, no interlace
    put_chunk(out, "IHDR", ihdr);
    put_chunk(out, "IDAT", z);
    put_chunk(out, "IEND", {});
    return out;
}

std::vector<uint8_t> render_line_plot_png(const plot_spec& spec) {
    if (spec.width < 200 || spec.height < 150 || spec.width > 8000 || spec.height > 8000)
        fail("plot size {}x{} is out of range", spec.width, spec.height);
    canvas cv(spec.width, spec.height);
    const rgb_t black = {0, 0, 0}, grid = {225, 225, 225}, gray = {90, 90, 90};
    const int left = 70, right = 20, top = 40, bottom = 50;
    const int x0 = left, x1 = spec.width - right, y0 = spec.height - bottom, y1 = top;  // plot box (y grows down)

    std::set<double> xs;
    double ymax = 0;
    for (const auto& s : spec.series) {
        if (s.x.size() != s.y.size()) fail("plot series '{}' has {} x and {} y values", s.name, s.x.size(), s.y.size());
        for (double v : s.x)
            if (std::isfinite(v)) xs.insert(v);
        for (double v : s.y)
            if (std::isfinite(v)) ymax = std::max(ymax, v);
    }
    if (ymax <= 0) ymax = 1;
    const double ystep = nice_step(ymax, 5);
    const double ytop = std::ceil(ymax / ystep) * ystep;
    double xmin = xs.empty() ? 0 : *xs.begin(), xmax = xs.empty() ? 1 : *xs.rbegin();
    if (xmax == xmin) {
        xmin -= 1;
        xmax += 1;
    }
    auto px = [&](double x) { return x0 + 20 + static_cast<int>(std::lround((x - xmin) / (xmax - xmin) * (x1 - x0 - 40))); };
    auto py = [&](double y) { return y0 - static_cast<int>(std::lround(y / ytop * (y0 - y1))); };

    for (double y = 0; y <= ytop + ystep * 1e-9; y += ystep) {
        int yy = py(y);
        cv.line(x0, yy, x1, yy, grid, 1);
        std::string l = num_label(y);
        cv.text(x0 - 6 - canvas::text_width(l), yy - 3, l, gray);
    }
    for (double x : xs) {
        int xx = px(x);
        cv.line(xx, y0, xx, y0 + 4, black, 1);
        std::string l = num_label(x);
        cv.text(xx - canvas::text_width(l) / 2, y0 + 8, l, gray);
    }
    cv.line(x0, y0, x1, y0, black, 1);
    cv.line(x0, y0, x0, y1, black, 1);
    cv.text((spec.width - canvas::text_width(spec.title, 2)) / 2, 10, spec.title, black, 2);
    cv.text((x0 + x1 - canvas::text_width(spec.x_label)) / 2, y0 + 24, spec.x_label, black);
    cv.text(8, top - 14, spec.y_label, black);

    for (size_t i = 0; i < spec.series.size(); ++i) {
        const auto& s = spec.series[i];
        const rgb_t c = k_palette[i % std::size(k_palette)];
        std::vector<std::pair<double, double>> pts;
        for (size_t k = 0; k < s.x.size(); ++k)
            if (std::isfinite(s.x[k]) && std::isfinite(s.y[k])) pts.push_back({s.x[k], s.y[k]});
        std::sort(pts.begin(), pts.end());
        for (size_t k = 0; k + 1 < pts.size(); ++k)
            cv.line(px(pts[k].first), py(pts[k].second), px(pts[k + 1].first), py(pts[k + 1].second), c, 2);
        for (const auto& [x, y] : pts) cv.rect(px(x) - 3, py(y) - 3, px(x) + 3, py(y) + 3, c);
        // Legend, top-left inside the plot box.
        const int ly = y1 + 8 + static_cast<int>(i) * 14;
        cv.rect(x0 + 10, ly, x0 + 22, ly + 6, c);
        cv.text(x0 + 28, ly, s.name, black);
    }
    return encode_png_rgb(cv.px.data(), cv.w, cv.h);
}

}  // namespace lf
