// matmul: every SIMD level against the scalar reference, on random inputs of awkward sizes.
// Stated tolerances:
//   - activation quantization: bit-exact with quantize_row_q8_0_ref on every level;
//   - when every product and partial sum is exactly representable (small integers, power-of-two
//     scales), every level gives exactly the reference's bits: the integer block sums are exact;
//   - q8_0/q4_0 weights: integer block sums are exact on every level; the float work after them
//     is each level's own fixed sequence, so |y - y_ref| <= (n_in/32 + 8) * 2^-23 * sum_i |wq_i xq_i|
//     (wq, xq: the dequantized weight and activation values actually multiplied; both sides'
//     f32 summation error bounds together); the scalar level is the reference, bit for bit;
//   - float weights: |y - y_ref| <= 1e-5 * sum_i |w_i * x_i| + 1e-30 (only the f32 summation
//     order differs between levels);
//   - q8_0/q4_0 reference vs. dequantized weights times f32 activations: within the error bound
//     of quantizing the activations to q8_0 (half a step per element, plus the f16 scale);
//   - thread counts 1, 2, 3 and batch size/position: bit-identical.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "core/thread-pool.h"
#include "kernels/cpu/matmul-impl.h"
#include "kernels/cpu/matmul.h"
#include "quant/quant.h"
#include "random-matrix.h"

namespace {

using lf::cpu_isa;
using lf::dtype;

const dtype k_types[] = {dtype::f32, dtype::f16, dtype::bf16, dtype::q8_0, dtype::q4_0};

std::vector<cpu_isa> supported_isas() {
    std::vector<cpu_isa> out;
    for (cpu_isa isa : {cpu_isa::scalar, cpu_isa::avx2, cpu_isa::avx512, cpu_isa::neon})
        if (lf::isa_supported(isa)) out.push_back(isa);
    return out;
}

bool is_block(dtype t) { return t == dtype::q8_0 || t == dtype::q4_0; }

// A weight matrix with its bytes and its dequantized values.
struct test_weight {
    dtype type;
    int64_t n_in, n_out;
    std::vector<uint8_t> bytes;   // type [n_out, n_in]
    std::vector<float> deq;       // f32 [n_out, n_in]
    lf::weight_view view() const { return {type, bytes.data(), n_in, n_out}; }
};

test_weight make_weight(dtype type, int64_t n_in, int64_t n_out, std::mt19937& rng) {
    test_weight w{type, n_in, n_out, lf::test::random_matrix(type, n_in, n_out, 1.0f, rng), {}};
    const size_t rb = lf::row_bytes(type, n_in);
    if (type == dtype::q8_0) {
        // The reference quantizer never writes -128, but files may: cover the full int8 range.
        auto* blocks = reinterpret_cast<lf::block_q8_0*>(w.bytes.data());
        std::uniform_int_distribution<int> pick(0, 63);
        for (int64_t b = 0; b < n_out * (n_in / 32); ++b)
            for (int j = 0; j < 32; ++j)
                if (pick(rng) == 0) blocks[b].qs[j] = pick(rng) < 32 ? -128 : 127;
    }
    w.deq.resize(static_cast<size_t>(n_in * n_out));
    for (int64_t o = 0; o < n_out; ++o) lf::dequantize_row(type, w.bytes.data() + o * rb, w.deq.data() + o * n_in, n_in);
    return w;
}

// f32 [n_rows, n_in]: rows of different scales, plus a zero row and rows full of .5 ties.
std::vector<float> make_activations(int64_t n_rows, int64_t n_in, std::mt19937& rng) {
    std::vector<float> x(static_cast<size_t>(n_rows * n_in));
    std::normal_distribution<float> dist(0.0f, 1.0f);
    std::uniform_real_distribution<float> u(-2.0f, 2.0f);
    for (int64_t r = 0; r < n_rows; ++r) {
        float* xr = x.data() + r * n_in;
        const int kind = static_cast<int>(r % 5);
        const float scale = std::pow(10.0f, u(rng));
        for (int64_t i = 0; i < n_in; ++i) {
            if (kind == 3 && r > 0) xr[i] = 0.0f;
            else if (kind == 4) xr[i] = (i % 32 == 0) ? 127.0f : std::round(u(rng) * 60.0f) + 0.5f;  // ties at d = 1
            else xr[i] = dist(rng) * scale;
        }
    }
    return x;
}

// sum_i |w_i * x_i| for each (r, o): the scale of the rounding error of the sum.
std::vector<double> magnitudes(const test_weight& w, const std::vector<float>& x, int64_t n_rows) {
    std::vector<double> m(static_cast<size_t>(n_rows * w.n_out));
    for (int64_t r = 0; r < n_rows; ++r)
        for (int64_t o = 0; o < w.n_out; ++o) {
            double s = 0;
            for (int64_t i = 0; i < w.n_in; ++i) s += std::fabs(double(w.deq[o * w.n_in + i]) * x[r * w.n_in + i]);
            m[r * w.n_out + o] = s;
        }
    return m;
}

// For q8_0/q4_0 weights: sum over blocks of |d_w d_x| * sum_j |q_w q_x| for each (r, o), the
// scale of the f32 rounding error after the exact integer block sums.
std::vector<double> quant_magnitudes(const test_weight& w, const std::vector<float>& x, int64_t n_rows) {
    const int64_t nb = w.n_in / 32;
    std::vector<lf::block_q8_0> xq(nb);
    std::vector<float> xd(w.n_in);
    std::vector<double> m(static_cast<size_t>(n_rows * w.n_out));
    for (int64_t r = 0; r < n_rows; ++r) {
        lf::quantize_row_q8_0_ref(x.data() + r * w.n_in, xq.data(), w.n_in);
        lf::dequantize_row_q8_0(xq.data(), xd.data(), w.n_in);
        for (int64_t o = 0; o < w.n_out; ++o) {
            double s = 0;
            for (int64_t i = 0; i < w.n_in; ++i) s += std::fabs(double(w.deq[o * w.n_in + i]) * xd[i]);
            m[r * w.n_out + o] = s;
        }
    }
    return m;
}

// The tolerance stated at the top for one output.
double tolerance(dtype t, int64_t n_in, double mag, double qmag) {
    if (t == dtype::q8_0 || t == dtype::q4_0) return double(n_in / 32 + 8) * std::ldexp(1.0, -23) * qmag + 1e-30;
    return 1e-5 * mag + 1e-30;
}

std::string where(cpu_isa isa, dtype t, int64_t n_in, int64_t n_out, int64_t n_rows) {
    return std::string(lf::isa_name(isa)) + " " + std::string(lf::traits(t).name) + " n_in=" + std::to_string(n_in) +
           " n_out=" + std::to_string(n_out) + " n_rows=" + std::to_string(n_rows);
}

TEST(Matmul, ActiveLevelIsSupported) {
    const std::string name = lf::kernel_isa();
    EXPECT_TRUE(name == "scalar" || name == "avx2" || name == "avx512" || name == "neon") << name;
    EXPECT_TRUE(lf::isa_supported(lf::active_isa()));
    EXPECT_EQ(name, lf::isa_name(lf::active_isa()));
    EXPECT_TRUE(lf::isa_supported(cpu_isa::scalar));
    std::printf("levels on this CPU:");
    for (cpu_isa isa : supported_isas()) std::printf(" %s", lf::isa_name(isa));
    std::printf("; active: %s\n", name.c_str());
}

TEST(Matmul, LeapfrogIsaValuesLowerTheLevel) {
    bool understood = false;
    const cpu_isa best = lf::cpu::resolve_isa(nullptr, &understood);
    EXPECT_TRUE(understood);
    EXPECT_TRUE(lf::isa_supported(best));
    EXPECT_EQ(lf::cpu::resolve_isa("", nullptr), best);
    EXPECT_EQ(lf::cpu::resolve_isa("scalar", &understood), cpu_isa::scalar);
    EXPECT_TRUE(understood);
    for (cpu_isa isa : {cpu_isa::avx2, cpu_isa::avx512, cpu_isa::neon}) {
        const cpu_isa got = lf::cpu::resolve_isa(lf::isa_name(isa), &understood);
        EXPECT_TRUE(understood) << lf::isa_name(isa);
        EXPECT_TRUE(lf::isa_supported(got)) << lf::isa_name(isa);
        if (lf::isa_supported(isa)) {
            EXPECT_EQ(got, isa);
        } else if (isa == cpu_isa::avx512 && lf::isa_supported(cpu_isa::avx2)) {
            EXPECT_EQ(got, cpu_isa::avx2);  // the best level below the request
        }
    }
    EXPECT_EQ(lf::cpu::resolve_isa("sse9", &understood), best);
    EXPECT_FALSE(understood);
}

TEST(Matmul, ActivationQuantizationIsBitExact) {
    std::mt19937 rng(1);
    const int64_t n_rows = 7, n_in = 32 * 13;
    auto x = make_activations(n_rows, n_in, rng);
    // Exact ties for several scales: x * (1/d) lands on .5 only if the product is exact, so use
    // blocks whose amax is 127 * 2^k.
    for (int64_t i = 0; i < n_in; ++i) x[2 * n_in + i] = (i % 32 == 0) ? 254.0f : float(2 * (i % 100) - 99);
    for (int64_t i = 0; i < n_in; ++i) x[1 * n_in + i] = (i % 32 == 5) ? -63.5f : float((i % 64) - 32) * 0.25f;
    // Non-finite values: NaN counts as 0, an infinite maximum gives an infinite scale.
    x[3 * n_in + 3] = std::nanf("");
    x[3 * n_in + 40] = INFINITY;
    x[3 * n_in + 70] = -INFINITY;
    x[3 * n_in + 71] = std::nanf("");
    std::vector<lf::block_q8_0> want(n_in / 32), got(n_in / 32);
    for (cpu_isa isa : supported_isas()) {
        const auto* k = lf::cpu::kernels_for(isa);
        ASSERT_NE(k, nullptr);
        for (dtype t : {dtype::q8_0, dtype::q4_0}) {
            std::vector<uint8_t> scratch(k->act_bytes(t, n_rows, n_in) + 64);
            void* xq = scratch.data() + (64 - reinterpret_cast<uintptr_t>(scratch.data()) % 64) % 64;
            std::memset(xq, 0x55, k->act_bytes(t, n_rows, n_in));  // no help from zeroed memory
            k->quantize_act(t, x.data(), n_rows, n_in, 0, 3, xq);
            k->quantize_act(t, x.data(), n_rows, n_in, 3, n_rows, xq);
            for (int64_t r = 0; r < n_rows; ++r) {
                lf::quantize_row_q8_0_ref(x.data() + r * n_in, want.data(), n_in);
                k->act_to_q8_0(t, xq, n_rows, n_in, r, got.data());
                ASSERT_EQ(std::memcmp(want.data(), got.data(), want.size() * sizeof(lf::block_q8_0)), 0)
                    << lf::isa_name(isa) << " " << lf::traits(t).name << " row " << r;
            }
        }
    }
}

// Every level on every type and awkward shape against matmul_reference.
TEST(Matmul, LevelsMatchReference) {
    std::mt19937 rng(2);
    lf::thread_pool pool(2);
    // Rows of less than one group of blocks, of whole groups plus a tail (a half group: 8 blocks
    // of 16 on AVX-512, 4 of 8 on AVX2).
    const int64_t q_n_in[] = {32, 96, 128, 256, 352, 384, 544, 768, 1056};
    const int64_t f_n_in[] = {1, 7, 33, 100, 352};
    const int64_t n_outs[] = {1, 3, 17, 33, 257};
    const int64_t n_rows_list[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 32};
    int checked = 0;
    for (dtype t : k_types) {
        for (int64_t n_in : is_block(t) ? std::vector<int64_t>(std::begin(q_n_in), std::end(q_n_in))
                                        : std::vector<int64_t>(std::begin(f_n_in), std::end(f_n_in))) {
            for (int64_t n_out : n_outs) {
                const test_weight w = make_weight(t, n_in, n_out, rng);
                for (int64_t n_rows : n_rows_list) {
                    if (n_out == 257 && n_rows != 9 && n_rows != 32 && n_rows != 1) continue;  // keep it quick
                    const auto x = make_activations(n_rows, n_in, rng);
                    std::vector<float> want(n_rows * n_out), got(n_rows * n_out);
                    lf::matmul_reference(w.view(), x.data(), n_rows, want.data());
                    const auto mag = magnitudes(w, x, n_rows);
                    const auto qmag = is_block(t) ? quant_magnitudes(w, x, n_rows) : mag;
                    for (cpu_isa isa : supported_isas()) {
                        std::fill(got.begin(), got.end(), std::nanf(""));
                        lf::matmul_isa(isa, w.view(), x.data(), n_rows, got.data(), pool);
                        for (int64_t i = 0; i < n_rows * n_out; ++i) {
                            const double tol = tolerance(t, n_in, mag[i], qmag[i]);
                            ASSERT_LE(std::fabs(double(got[i]) - want[i]), tol)
                                << where(isa, t, n_in, n_out, n_rows) << " at row " << i / n_out << " out "
                                << i % n_out << ": got " << got[i] << " want " << want[i];
                        }
                        // The scalar level is the reference itself, threaded.
                        if (isa == cpu_isa::scalar) {
                            ASSERT_EQ(std::memcmp(got.data(), want.data(), got.size() * 4), 0)
                                << where(isa, t, n_in, n_out, n_rows);
                        }
                        ++checked;
                    }
                }
            }
        }
    }
    EXPECT_GT(checked, 200);
}

// Small integers and power-of-two scales make every product and partial sum exact, so any
// summation order gives the same bits: this pins down the integer block sums of every level.
TEST(Matmul, ExactArithmeticGivesIdenticalBits) {
    std::mt19937 rng(3);
    lf::thread_pool pool(1);
    const int64_t n_in = 256 + 32, n_out = 19, n_rows = 11;
    std::uniform_int_distribution<int> xi(-127, 127), wi(-128, 127), w4(0, 15), half(0, 1);
    // Activations: integers with a 127 in every block, so d = 1 and q = x exactly.
    std::vector<float> x(n_rows * n_in);
    for (int64_t i = 0; i < n_rows * n_in; ++i) x[i] = (i % 32 == 7) ? (half(rng) ? 127.0f : -127.0f) : float(xi(rng));
    for (dtype t : k_types) {
        test_weight w{t, n_in, n_out, std::vector<uint8_t>(lf::row_bytes(t, n_in) * n_out), {}};
        for (int64_t o = 0; o < n_out; ++o) {
            uint8_t* row = w.bytes.data() + o * lf::row_bytes(t, n_in);
            if (t == dtype::q8_0 || t == dtype::q4_0) {
                for (int64_t b = 0; b < n_in / 32; ++b) {
                    const uint16_t d = half(rng) ? 0x3c00 : 0x3800;  // 1.0 or 0.5
                    if (t == dtype::q8_0) {
                        auto* blk = reinterpret_cast<lf::block_q8_0*>(row) + b;
                        blk->d = d;
                        for (auto& q : blk->qs) q = static_cast<int8_t>(wi(rng));
                    } else {
                        auto* blk = reinterpret_cast<lf::block_q4_0*>(row) + b;
                        blk->d = d;
                        for (auto& q : blk->qs) q = static_cast<uint8_t>(w4(rng) | (w4(rng) << 4));
                    }
                }
            } else {
                std::vector<float> vals(n_in);
                for (auto& v : vals) v = float(xi(rng) % 16) * 0.5f;  // exact in f16 and bf16
                lf::quantize_row(t, vals.data(), row, n_in);
            }
        }
        std::vector<float> want(n_rows * n_out), got(n_rows * n_out);
        lf::matmul_reference(w.view(), x.data(), n_rows, want.data());
        for (cpu_isa isa : supported_isas()) {
            lf::matmul_isa(isa, w.view(), x.data(), n_rows, got.data(), pool);
            for (int64_t i = 0; i < n_rows * n_out; ++i)
                ASSERT_EQ(got[i], want[i]) << lf::isa_name(isa) << " " << lf::traits(t).name << " at " << i;
        }
    }
}

// The reference's q8_0/q4_0 products differ from dequantized-weight f32 products only by the
// quantization of the activations: |sum_i w_i (x_i - xq_i)| <= sum_b bound_b * sum_{i in b} |w_i|.
TEST(Matmul, ReferenceQuantizedMatchesDequantizedDot) {
    std::mt19937 rng(4);
    const int64_t n_in = 32 * 40, n_out = 23, n_rows = 5;
    for (dtype t : {dtype::q8_0, dtype::q4_0}) {
        const test_weight w = make_weight(t, n_in, n_out, rng);
        const auto x = make_activations(n_rows, n_in, rng);
        std::vector<float> y(n_rows * n_out);
        lf::matmul_reference(w.view(), x.data(), n_rows, y.data());
        for (int64_t r = 0; r < n_rows; ++r) {
            for (int64_t o = 0; o < n_out; ++o) {
                double exact = 0, bound = 0, mag = 0;
                for (int64_t b = 0; b < n_in / 32; ++b) {
                    float amax = 0;
                    for (int j = 0; j < 32; ++j) amax = std::max(amax, std::fabs(x[r * n_in + b * 32 + j]));
                    const float d = amax / 127.0f;
                    const float d16 = lf::fp16_to_fp32(lf::fp32_to_fp16(d));
                    const double step = 0.5 * d + 127.0 * std::fabs(double(d) - d16);
                    double wsum = 0;
                    for (int j = 0; j < 32; ++j) {
                        const int64_t i = b * 32 + j;
                        exact += double(w.deq[o * n_in + i]) * x[r * n_in + i];
                        wsum += std::fabs(w.deq[o * n_in + i]);
                        mag += std::fabs(double(w.deq[o * n_in + i]) * x[r * n_in + i]);
                    }
                    bound += step * wsum;
                }
                const double tol = bound * 1.001 + 1e-5 * mag + 1e-30;
                ASSERT_LE(std::fabs(y[r * n_out + o] - exact), tol) << lf::traits(t).name << " r=" << r << " o=" << o;
            }
        }
    }
}

TEST(Matmul, ThreadCountsGiveIdenticalBits) {
    std::mt19937 rng(5);
    lf::thread_pool p1(1), p2(2), p3(3);
    const int64_t n_in = 32 * 24, n_out = 1001, n_rows = 6;
    for (dtype t : k_types) {
        const test_weight w = make_weight(t, n_in, n_out, rng);
        const auto x = make_activations(n_rows, n_in, rng);
        for (cpu_isa isa : supported_isas()) {
            std::vector<float> y1(n_rows * n_out), y2(n_rows * n_out), y3(n_rows * n_out);
            lf::matmul_isa(isa, w.view(), x.data(), n_rows, y1.data(), p1);
            lf::matmul_isa(isa, w.view(), x.data(), n_rows, y2.data(), p2);
            lf::matmul_isa(isa, w.view(), x.data(), n_rows, y3.data(), p3);
            EXPECT_EQ(std::memcmp(y1.data(), y2.data(), y1.size() * 4), 0) << lf::isa_name(isa) << " " << lf::traits(t).name;
            EXPECT_EQ(std::memcmp(y1.data(), y3.data(), y1.size() * 4), 0) << lf::isa_name(isa) << " " << lf::traits(t).name;
        }
    }
}

// A row's result must not depend on the batch it is in: decode-alone == verify-among-drafts.
TEST(Matmul, RowResultsDoNotDependOnBatch) {
    std::mt19937 rng(6);
    lf::thread_pool pool(2);
    const int64_t n_in = 32 * 9, n_out = 70;
    for (dtype t : k_types) {
        const test_weight w = make_weight(t, n_in, n_out, rng);
        for (int64_t n_rows : {2, 3, 5, 7, 9, 13, 33}) {
            const auto x = make_activations(n_rows, n_in, rng);
            for (cpu_isa isa : supported_isas()) {
                std::vector<float> batch(n_rows * n_out), alone(n_out);
                lf::matmul_isa(isa, w.view(), x.data(), n_rows, batch.data(), pool);
                for (int64_t r = 0; r < n_rows; ++r) {
                    lf::matmul_isa(isa, w.view(), x.data() + r * n_in, 1, alone.data(), pool);
                    ASSERT_EQ(std::memcmp(alone.data(), batch.data() + r * n_out, n_out * 4), 0)
                        << lf::isa_name(isa) << " " << lf::traits(t).name << " n_rows=" << n_rows << " r=" << r;
                }
            }
        }
    }
}

namespace {

// For every level: the product of n_rows random activation rows with w matches the reference,
// and each row's result has the same bits as that row alone.
void expect_reference_and_alone_bits(const test_weight& w, int64_t n_rows, std::mt19937& rng, lf::thread_pool& pool) {
    const dtype t = w.type;
    const int64_t n_in = w.n_in, n_out = w.n_out;
    const auto x = make_activations(n_rows, n_in, rng);
    std::vector<float> want(n_rows * n_out), got(n_rows * n_out), alone(n_out);
    lf::matmul_reference(w.view(), x.data(), n_rows, want.data());
    const auto mag = magnitudes(w, x, n_rows);
    const auto qmag = quant_magnitudes(w, x, n_rows);
    for (cpu_isa isa : supported_isas()) {
        lf::matmul_isa(isa, w.view(), x.data(), n_rows, got.data(), pool);
        for (int64_t i = 0; i < n_rows * n_out; ++i)
            ASSERT_LE(std::fabs(double(got[i]) - want[i]), tolerance(t, n_in, mag[i], qmag[i]))
                << where(isa, t, n_in, n_out, n_rows) << " at " << i;
        for (int64_t r = 0; r < n_rows; ++r) {
            lf::matmul_isa(isa, w.view(), x.data() + r * n_in, 1, alone.data(), pool);
            ASSERT_EQ(std::memcmp(alone.data(), got.data() + r * n_out, n_out * 4), 0)
                << where(isa, t, n_in, n_out, n_rows) << " r=" << r;
        }
    }
}

}  // namespace

// Wide rows: the AVX-512 tiles change with the activations' size (whole rows while a tile's
// activation rows fit in 32 KiB, else parts of whole groups with the accumulators carried; 16-row
// prefill tiles only for n_in <= 1536). At n_in = 6400 (12 groups of 16 blocks and a half group)
// 1 row takes whole rows, 4 and 8 rows 3 and 5 parts (the half group in the last), and 20 rows
// the 8-row tiles plus a 4-row remainder. Every row must match the reference and keep its bits
// whatever batch it is in.
TEST(Matmul, WideRowsMatchReferenceInEveryTileShape) {
    std::mt19937 rng(9);
    lf::thread_pool pool(2);
    for (dtype t : {dtype::q8_0, dtype::q4_0}) {
        const test_weight w = make_weight(t, 32 * 200, 37, rng);
        for (int64_t n_rows : {1, 4, 8, 20, 33}) expect_reference_and_alone_bits(w, n_rows, rng, pool);
    }
}

// Parts over many weight rows: the AVX-512 level takes 128 weight rows through one part before the
// next part, so a task of several hundred rows crosses those chunks (and ends inside one). n_in
// 12384 = 24 groups and a 3-block tail; 3, 4 and 8 activation rows make 3, 4 and 8 parts.
TEST(Matmul, PartsAcrossManyWeightRowsKeepEachRowsBits) {
    std::mt19937 rng(12);
    lf::thread_pool pool(1);
    for (dtype t : {dtype::q4_0, dtype::q8_0}) {
        const test_weight w = make_weight(t, 32 * 387, 1100, rng);
        for (int64_t n_rows : {3, 4, 8}) expect_reference_and_alone_bits(w, n_rows, rng, pool);
    }
}

// Several products in one call give each product's own bits.
TEST(Matmul, MultiPartCallEqualsSeparateCalls) {
    std::mt19937 rng(8);
    lf::thread_pool pool(2);
    const int64_t n_in = 32 * 20;
    const test_weight a = make_weight(dtype::q4_0, n_in, 301, rng), b = make_weight(dtype::q8_0, n_in, 77, rng),
                      c = make_weight(dtype::q4_0, n_in, 1024, rng), d = make_weight(dtype::f16, n_in, 9, rng);
    for (int64_t n_rows : {1, 3, 9}) {
        const auto x = make_activations(n_rows, n_in, rng);
        for (cpu_isa isa : supported_isas()) {
            std::vector<float> ya(n_rows * 301), yb(n_rows * 77), yc(n_rows * 1024), yd(n_rows * 9);
            const lf::matmul_part parts[4] = {{a.view(), ya.data()}, {b.view(), yb.data()}, {c.view(), yc.data()},
                                              {d.view(), yd.data()}};
            lf::matmul_multi_isa(isa, parts, 4, x.data(), n_rows, pool);
            for (const auto& [w, y] : {std::pair{&a, &ya}, std::pair{&b, &yb}, std::pair{&c, &yc}, std::pair{&d, &yd}}) {
                std::vector<float> alone(y->size());
                lf::matmul_isa(isa, w->view(), x.data(), n_rows, alone.data(), pool);
                ASSERT_EQ(std::memcmp(alone.data(), y->data(), alone.size() * 4), 0)
                    << lf::isa_name(isa) << " " << lf::traits(w->type).name << " n_rows=" << n_rows;
            }
        }
    }
}

// Selected rows give the bits of the full product's rows.
TEST(Matmul, SelectedRowsEqualFullProduct) {
    std::mt19937 rng(9);
    lf::thread_pool pool(2);
    const int64_t n_in = 32 * 9, n_out = 500;
    std::uniform_int_distribution<int32_t> pick(0, static_cast<int32_t>(n_out - 1));
    std::vector<int32_t> ids(300);
    for (auto& i : ids) i = pick(rng);
    for (dtype t : k_types) {
        const test_weight w = make_weight(t, n_in, n_out, rng);
        const auto x = make_activations(1, n_in, rng);
        std::vector<float> full(n_out), sel(ids.size());
        lf::matmul(w.view(), x.data(), 1, full.data(), pool);
        lf::matmul_rows(w.view(), ids.data(), static_cast<int64_t>(ids.size()), x.data(), sel.data(), pool);
        for (size_t i = 0; i < ids.size(); ++i)
            ASSERT_EQ(std::memcmp(&sel[i], &full[ids[i]], 4), 0) << lf::traits(t).name << " id " << ids[i];
    }
}

TEST(Matmul, LargeShapeMatchesReference) {
    // One decode-sized product per type, enough blocks for the long accumulation paths.
    std::mt19937 rng(7);
    lf::thread_pool pool(2);
    const int64_t n_in = 4096, n_out = 67, n_rows = 4;
    for (dtype t : k_types) {
        const test_weight w = make_weight(t, n_in, n_out, rng);
        const auto x = make_activations(n_rows, n_in, rng);
        std::vector<float> want(n_rows * n_out), got(n_rows * n_out);
        lf::matmul_reference(w.view(), x.data(), n_rows, want.data());
        const auto mag = magnitudes(w, x, n_rows);
        const auto qmag = is_block(t) ? quant_magnitudes(w, x, n_rows) : mag;
        lf::matmul(w.view(), x.data(), n_rows, got.data(), pool);
        for (int64_t i = 0; i < n_rows * n_out; ++i)
            ASSERT_LE(std::fabs(double(got[i]) - want[i]), tolerance(t, n_in, mag[i], qmag[i]))
                << lf::traits(t).name << " at " << i;
    }
}

}  // namespace
