// Element-wise ops and attention: every SIMD level against the scalar reference, and the
// independence of an element's (or a row's) result from its neighbours.
// Stated tolerances:
//   - gelu: |y - y_ref| <= 2e-6 * max(|x|, 1e-30) (relative to the input: the function is
//     x * sigmoid, and the sigmoid is computed to a few ulp); NaN gives NaN, infinities give
//     something non-finite (the reference's 0.5 x (1 + tanh) makes NaN of -inf);
//   - softcap: |y - y_ref| <= 4 * 2^-23 * max(|y_ref|, 1e-6 * cap) (tanh to a few ulp);
//   - attention: |out - out_ref| <= 1e-5 * max_j |v_j| per element (scores, softmax and sums in
//     another order);
//   - an element's result (a row's attention output) is bit-identical wherever it sits in the
//     array (however its keys are split into spans), on every level;
//   - rms_norm and the merge of attention partials: bit-identical to the scalar level.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "kernels/cpu/attention.h"
#include "kernels/cpu/matmul.h"
#include "kernels/cpu/ops-impl.h"
#include "kernels/cpu/ops.h"

namespace {

using lf::cpu_isa;

std::vector<cpu_isa> supported_isas() {
    std::vector<cpu_isa> out;
    for (cpu_isa isa : {cpu_isa::scalar, cpu_isa::avx2, cpu_isa::avx512, cpu_isa::neon})
        if (lf::isa_supported(isa)) out.push_back(isa);
    return out;
}

// Inputs spanning every branch: zeros, tiny, around the 0.625 switch of tanh, large, huge,
// infinities and NaN.
std::vector<float> awkward_inputs(std::mt19937& rng) {
    std::vector<float> x = {0.0f, -0.0f, 1e-30f, -1e-30f, 1e-7f, 0.3f, -0.3f, 0.6249f, 0.625f, -0.6251f, 1.0f, -1.0f,
                            3.0f, -3.0f, 8.99f, 9.01f, 17.9f, 18.1f, 40.0f, -40.0f, 87.0f, -87.0f, 100.0f, -100.0f,
                            1e10f, -1e10f, 3e38f, -3e38f};
    std::normal_distribution<float> nd(0.0f, 1.0f);
    std::uniform_real_distribution<float> ex(-3.0f, 2.5f);
    for (int i = 0; i < 3000; ++i) x.push_back(nd(rng) * std::pow(10.0f, ex(rng)));
    return x;
}

bool same_class(float a, float b) {
    if (std::isnan(a) || std::isnan(b)) return std::isnan(a) && std::isnan(b);
    if (std::isinf(a) || std::isinf(b)) return a == b;
    return true;
}

TEST(Ops, GeluMatchesReference) {
    std::mt19937 rng(11);
    auto x = awkward_inputs(rng);
    x.push_back(std::numeric_limits<float>::infinity());
    x.push_back(-std::numeric_limits<float>::infinity());
    x.push_back(std::nanf(""));
    std::vector<float> want = x;
    lf::cpu::gelu_tanh_isa(cpu_isa::scalar, want.data(), static_cast<int64_t>(want.size()));
    for (cpu_isa isa : supported_isas()) {
        std::vector<float> got = x;
        lf::cpu::gelu_tanh_isa(isa, got.data(), static_cast<int64_t>(got.size()));
        for (size_t i = 0; i < x.size(); ++i) {
            if (std::isinf(x[i])) {
                ASSERT_FALSE(std::isfinite(got[i])) << lf::isa_name(isa) << " x=" << x[i] << " got " << got[i];
                continue;
            }
            ASSERT_TRUE(same_class(got[i], want[i])) << lf::isa_name(isa) << " x=" << x[i] << " got " << got[i];
            if (!std::isfinite(want[i])) continue;
            ASSERT_LE(std::fabs(got[i] - want[i]), 2e-6 * std::max(std::fabs(x[i]), 1e-30f))
                << lf::isa_name(isa) << " x=" << x[i] << " got " << got[i] << " want " << want[i];
        }
        // gelu_mul = gelu(gate) * up, element by element.
        std::vector<float> up(x.size()), g = x, gm = x;
        for (size_t i = 0; i < up.size(); ++i) up[i] = 0.5f + static_cast<float>(i % 7);
        lf::cpu::gelu_tanh_isa(isa, g.data(), static_cast<int64_t>(g.size()));
        lf::cpu::gelu_mul_isa(isa, gm.data(), up.data(), static_cast<int64_t>(gm.size()));
        for (size_t i = 0; i < x.size(); ++i) {
            const float e = g[i] * up[i];
            ASSERT_TRUE(std::memcmp(&e, &gm[i], 4) == 0 || (std::isnan(e) && std::isnan(gm[i])))
                << lf::isa_name(isa) << " gelu_mul at " << i;
        }
    }
}

TEST(Ops, SoftcapMatchesReference) {
    std::mt19937 rng(12);
    auto x = awkward_inputs(rng);
    x.push_back(std::numeric_limits<float>::infinity());
    x.push_back(-std::numeric_limits<float>::infinity());
    x.push_back(std::nanf(""));
    for (float cap : {30.0f, 1.0f}) {
        std::vector<float> want = x;
        lf::cpu::softcap_isa(cpu_isa::scalar, want.data(), static_cast<int64_t>(want.size()), cap);
        for (cpu_isa isa : supported_isas()) {
            std::vector<float> got = x;
            lf::cpu::softcap_isa(isa, got.data(), static_cast<int64_t>(got.size()), cap);
            for (size_t i = 0; i < x.size(); ++i) {
                ASSERT_TRUE(same_class(got[i], want[i])) << lf::isa_name(isa) << " x=" << x[i] << " got " << got[i];
                if (!std::isfinite(want[i])) continue;
                const double tol = 4.0 * std::ldexp(1.0, -23) * cap * std::max(std::fabs(want[i]) / cap, 1e-6f) + 1e-30;
                ASSERT_LE(std::fabs(got[i] - want[i]), tol)
                    << lf::isa_name(isa) << " cap=" << cap << " x=" << x[i] << " got " << got[i] << " want " << want[i];
            }
        }
    }
}

// An element gives the same bits alone, in the vector body, or in a tail of any length.
TEST(Ops, ElementResultDoesNotDependOnPosition) {
    std::mt19937 rng(13);
    std::normal_distribution<float> nd(0.0f, 3.0f);
    std::vector<float> base(67), up(67);
    for (auto& v : base) v = nd(rng);
    for (auto& v : up) v = nd(rng);
    for (cpu_isa isa : supported_isas()) {
        for (int op = 0; op < 3; ++op) {
            auto apply = [&](float* x, const float* u, int64_t n) {
                if (op == 0) lf::cpu::gelu_tanh_isa(isa, x, n);
                else if (op == 1) lf::cpu::gelu_mul_isa(isa, x, u, n);
                else lf::cpu::softcap_isa(isa, x, n, 30.0f);
            };
            std::vector<float> all = base;
            apply(all.data(), up.data(), 67);
            for (int64_t off : {0, 1, 5, 16, 17, 40}) {
                for (int64_t n : {1, 3, 8, 15, 16, 17, 27}) {
                    if (off + n > 67) continue;
                    std::vector<float> part(base.begin() + off, base.begin() + off + n);
                    apply(part.data(), up.data() + off, n);
                    ASSERT_EQ(std::memcmp(part.data(), all.data() + off, n * 4), 0)
                        << lf::isa_name(isa) << " op " << op << " off " << off << " n " << n;
                }
            }
        }
    }
}

// Keys and values of n positions in one contiguous buffer; spans can cut it anywhere.
struct kv_rows {
    int n, head_dim;
    size_t stride;
    std::vector<float> k, v;  // f32 [n, stride]
};

kv_rows make_kv(int n, int head_dim, std::mt19937& rng, float scale) {
    kv_rows kv{n, head_dim, static_cast<size_t>(head_dim) + 3, {}, {}};
    std::normal_distribution<float> nd(0.0f, 1.0f);
    kv.k.resize(n * kv.stride);
    kv.v.resize(n * kv.stride);
    for (auto& x : kv.k) x = nd(rng) * scale;
    for (auto& x : kv.v) x = nd(rng);
    return kv;
}

TEST(Attention, LevelsMatchReferenceAndIgnoreSpanCuts) {
    std::mt19937 rng(14);
    std::normal_distribution<float> nd(0.0f, 1.0f);
    for (int head_dim : {8, 16, 40, 48, 256, 512}) {
        for (int n : {1, 7, 16, 33, 300}) {
            const kv_rows kv = make_kv(n, head_dim, rng, head_dim >= 256 ? 0.2f : 1.0f);
            std::vector<float> q(head_dim);
            for (auto& x : q) x = nd(rng);
            float vmax = 0;
            for (float x : kv.v) vmax = std::max(vmax, std::fabs(x));
            lf::kv_span one{kv.k.data(), kv.v.data(), n, kv.stride};
            std::vector<float> want(head_dim), got(head_dim), cut(head_dim);
            for (int skip : {0, n / 3}) {
                const int count = n - skip - (n > 4 ? 1 : 0);
                if (count <= 0) continue;
                const lf::attn_partial pw =
                    lf::cpu::attend_partial_isa(cpu_isa::scalar, q.data(), &one, 1, skip, count, head_dim, want.data());
                for (cpu_isa isa : supported_isas()) {
                    const lf::attn_partial pg =
                        lf::cpu::attend_partial_isa(isa, q.data(), &one, 1, skip, count, head_dim, got.data());
                    // Normalised outputs and the log-sum-exp agree.
                    ASSERT_NEAR(pg.m + std::log(pg.l), pw.m + std::log(pw.l), 1e-5 * std::max(1.0f, std::fabs(pw.m)))
                        << lf::isa_name(isa) << " d=" << head_dim << " n=" << n;
                    for (int d = 0; d < head_dim; ++d)
                        ASSERT_NEAR(got[d] / pg.l, want[d] / pw.l, 1e-5 * vmax)
                            << lf::isa_name(isa) << " d=" << head_dim << " n=" << n << " dim " << d;
                    // The same keys cut into two spans anywhere: identical bits.
                    for (int at : {1, n / 2, n - 1}) {
                        if (at <= 0 || at >= n) continue;
                        lf::kv_span two[2] = {{kv.k.data(), kv.v.data(), at, kv.stride},
                                              {kv.k.data() + at * kv.stride, kv.v.data() + at * kv.stride, n - at, kv.stride}};
                        const lf::attn_partial pc =
                            lf::cpu::attend_partial_isa(isa, q.data(), two, 2, skip, count, head_dim, cut.data());
                        ASSERT_EQ(pc.m, pg.m);
                        ASSERT_EQ(pc.l, pg.l);
                        ASSERT_EQ(std::memcmp(cut.data(), got.data(), head_dim * 4), 0)
                            << lf::isa_name(isa) << " cut at " << at;
                    }
                }
            }
        }
    }
}

// Heads sharing keys, processed together: each head as the single-head reference (same
// tolerance), and identical bits however the keys are cut into spans.
TEST(Attention, GroupedHeadsMatchSingleHeads) {
    std::mt19937 rng(16);
    std::normal_distribution<float> nd(0.0f, 1.0f);
    // Group sizes cover every tile shape of the SIMD kernels (4, 2 and 1 heads per tile, and
    // 16-wide output chunks left over when head_dim / 16 is not a multiple of the tile).
    for (int head_dim : {16, 48, 256}) {
        for (int nh : {1, 2, 3, 6, 8, 11}) {
            const int n = 77;
            const kv_rows kv = make_kv(n, head_dim, rng, head_dim >= 256 ? 0.2f : 1.0f);
            const size_t q_stride = head_dim + 5, acc_stride = head_dim + 7, part_stride = 3;
            std::vector<float> q(nh * q_stride);
            for (auto& x : q) x = nd(rng);
            float vmax = 0;
            for (float x : kv.v) vmax = std::max(vmax, std::fabs(x));
            lf::kv_span one{kv.k.data(), kv.v.data(), n, kv.stride};
            lf::kv_span two[2] = {{kv.k.data(), kv.v.data(), 30, kv.stride},
                                  {kv.k.data() + 30 * kv.stride, kv.v.data() + 30 * kv.stride, n - 30, kv.stride}};
            const int skip = 5, count = 70;
            for (cpu_isa isa : supported_isas()) {
                std::vector<float> acc(nh * acc_stride), cut(nh * acc_stride), want(head_dim);
                std::vector<lf::attn_partial> parts(nh * part_stride), parts_cut(nh * part_stride);
                lf::cpu::attend_partial_heads_isa(isa, q.data(), nh, q_stride, &one, 1, skip, count, head_dim, acc.data(),
                                                  acc_stride, parts.data(), part_stride);
                lf::cpu::attend_partial_heads_isa(isa, q.data(), nh, q_stride, two, 2, skip, count, head_dim, cut.data(),
                                                  acc_stride, parts_cut.data(), part_stride);
                for (int h = 0; h < nh; ++h) {
                    const lf::attn_partial pw = lf::cpu::attend_partial_isa(cpu_isa::scalar, q.data() + h * q_stride, &one,
                                                                            1, skip, count, head_dim, want.data());
                    const lf::attn_partial& pg = parts[h * part_stride];
                    ASSERT_NEAR(pg.m + std::log(pg.l), pw.m + std::log(pw.l), 1e-5 * std::max(1.0f, std::fabs(pw.m)))
                        << lf::isa_name(isa) << " nh=" << nh << " head " << h;
                    for (int d = 0; d < head_dim; ++d)
                        ASSERT_NEAR(acc[h * acc_stride + d] / pg.l, want[d] / pw.l, 1e-5 * vmax)
                            << lf::isa_name(isa) << " nh=" << nh << " head " << h << " dim " << d;
                    ASSERT_EQ(parts_cut[h * part_stride].m, pg.m);
                    ASSERT_EQ(parts_cut[h * part_stride].l, pg.l);
                    ASSERT_EQ(std::memcmp(cut.data() + h * acc_stride, acc.data() + h * acc_stride, head_dim * 4), 0)
                        << lf::isa_name(isa) << " nh=" << nh << " head " << h;
                }
            }
        }
    }
}

// Rows of one slot attending together (each over its own key range, blocks aligned in position)
// give each row exactly the bits it gets alone with spans that start at its own first key, on
// every level; and the scalar level's values within the usual tolerance.
TEST(Attention, RowsSharingKeysGiveTheirAloneBits) {
    std::mt19937 rng(23);
    std::normal_distribution<float> nd(0.0f, 1.0f);
    const int pos0 = 37, n = 100;  // the cache holds positions [37, 136]
    // Overlapping ranges, ranges that start or end mid-block, a one-key row, a row whose keys
    // skip the blocks of the others' first keys.
    const std::vector<std::pair<int, int>> ranges = {{40, 100}, {41, 101}, {37, 60}, {90, 136}, {100, 100}, {64, 79}};
    for (int head_dim : {16, 40, 48, 256}) {
        for (int nh : {1, 3, 8, 11}) {
            const kv_rows kv = make_kv(n, head_dim, rng, head_dim >= 256 ? 0.2f : 1.0f);
            const int nr = static_cast<int>(ranges.size());
            const size_t q_stride = head_dim + 5, acc_stride = head_dim + 7, part_stride = 3;
            std::vector<float> q(nr * nh * q_stride);
            for (auto& x : q) x = nd(rng);
            float vmax = 0;
            for (float x : kv.v) vmax = std::max(vmax, std::fabs(x));
            const auto at = [&](int pos) { return static_cast<size_t>(pos - pos0) * kv.stride; };
            for (cpu_isa isa : supported_isas()) {
                std::vector<float> alone(nr * nh * acc_stride), together(nr * nh * acc_stride), want(head_dim);
                std::vector<lf::attn_partial> p_alone(nr * nh * part_stride), p_together(nr * nh * part_stride);
                std::vector<lf::attn_row> rows(nr);
                for (int r = 0; r < nr; ++r) {
                    rows[r] = {&q[r * nh * q_stride], q_stride, &together[r * nh * acc_stride], acc_stride,
                               &p_together[r * nh * part_stride], part_stride, ranges[r].first, ranges[r].second};
                    // Alone: spans that start at the row's first key and hold only its keys.
                    const int first = ranges[r].first, count = ranges[r].second - first + 1;
                    const lf::kv_span own{kv.k.data() + at(first), kv.v.data() + at(first), count, kv.stride};
                    lf::attn_row one = rows[r];
                    one.acc = &alone[r * nh * acc_stride];
                    one.parts = &p_alone[r * nh * part_stride];
                    lf::cpu::attend_partial_rows_isa(isa, &one, 1, nh, &own, 1, first, head_dim);
                }
                // Together: all rows in two calls of at most k_attn_max_rows, the keys cut in two spans.
                const int cut = 71;
                const lf::kv_span two[2] = {{kv.k.data(), kv.v.data(), cut - pos0, kv.stride},
                                            {kv.k.data() + at(cut), kv.v.data() + at(cut), pos0 + n - cut, kv.stride}};
                lf::cpu::attend_partial_rows_isa(isa, rows.data(), 4, nh, two, 2, pos0, head_dim);
                lf::cpu::attend_partial_rows_isa(isa, rows.data() + 4, nr - 4, nh, two, 2, pos0, head_dim);
                for (int r = 0; r < nr; ++r)
                    for (int h = 0; h < nh; ++h) {
                        const size_t e = (r * nh + h) * part_stride;
                        ASSERT_EQ(p_together[e].m, p_alone[e].m) << lf::isa_name(isa) << " row " << r << " head " << h;
                        ASSERT_EQ(p_together[e].l, p_alone[e].l) << lf::isa_name(isa) << " row " << r << " head " << h;
                        const float* a = &alone[(r * nh + h) * acc_stride];
                        ASSERT_EQ(std::memcmp(&together[(r * nh + h) * acc_stride], a, head_dim * 4), 0)
                            << lf::isa_name(isa) << " d=" << head_dim << " nh=" << nh << " row " << r << " head " << h;
                        // And the scalar reference over the row's keys.
                        const lf::kv_span all{kv.k.data(), kv.v.data(), n, kv.stride};
                        const lf::attn_partial pw = lf::cpu::attend_partial_isa(
                            cpu_isa::scalar, &q[(r * nh + h) * q_stride], &all, 1, ranges[r].first - pos0,
                            ranges[r].second - ranges[r].first + 1, head_dim, want.data());
                        const lf::attn_partial& pg = p_alone[e];
                        ASSERT_NEAR(pg.m + std::log(pg.l), pw.m + std::log(pw.l), 1e-5 * std::max(1.0f, std::fabs(pw.m)));
                        for (int d = 0; d < head_dim; ++d)
                            ASSERT_NEAR(a[d] / pg.l, want[d] / pw.l, 1e-5 * vmax)
                                << lf::isa_name(isa) << " row " << r << " head " << h << " dim " << d;
                    }
            }
        }
    }
}

// The SIMD rms_norm sums the same exact products in the same eight partial sums as the scalar
// level, so every level gives the scalar level's bits, with and without a weight and in place.
TEST(Ops, RmsNormLevelsAreBitIdentical) {
    std::mt19937 rng(21);
    std::normal_distribution<float> nd(0.0f, 1.0f);
    for (int n : {1, 2, 7, 8, 9, 15, 16, 17, 31, 33, 100, 255, 256, 257, 1536, 2049}) {
        std::vector<float> x(n), w(n);
        for (auto& v : x) v = nd(rng) * 30.0f;
        for (auto& v : w) v = 1.0f + 0.1f * nd(rng);
        if (n > 3) x[2] = 0.0f;
        for (bool weighted : {true, false}) {
            std::vector<float> want(n), got(n), inplace;
            lf::cpu::rms_norm_isa(cpu_isa::scalar, x.data(), weighted ? w.data() : nullptr, want.data(), n, 1e-6f);
            for (cpu_isa isa : supported_isas()) {
                lf::cpu::rms_norm_isa(isa, x.data(), weighted ? w.data() : nullptr, got.data(), n, 1e-6f);
                ASSERT_EQ(std::memcmp(got.data(), want.data(), n * 4), 0) << lf::isa_name(isa) << " n=" << n;
                inplace = x;
                lf::cpu::rms_norm_isa(isa, inplace.data(), weighted ? w.data() : nullptr, inplace.data(), n, 1e-6f);
                ASSERT_EQ(std::memcmp(inplace.data(), want.data(), n * 4), 0) << lf::isa_name(isa) << " in place, n=" << n;
            }
        }
    }
}

// Merging chunk partials (some of them empty) gives the scalar level's bits on every level, and
// the same bits when the partials lie `stride` entries apart (the entries between them, NaN
// here, are not read).
TEST(Attention, MergeLevelsAreBitIdentical) {
    std::mt19937 rng(22);
    std::normal_distribution<float> nd(0.0f, 1.0f);
    for (int head_dim : {8, 16, 48, 256, 512}) {
        for (int n : {1, 2, 3, 9}) {
            std::vector<lf::attn_partial> parts(n);
            std::vector<float> acc(static_cast<size_t>(n) * head_dim);
            for (auto& v : acc) v = nd(rng);
            for (int i = 0; i < n; ++i) parts[i] = {3.0f * nd(rng), 1.0f + std::fabs(nd(rng)) * 50.0f};
            if (n > 2) {
                parts[1] = {-std::numeric_limits<float>::infinity(), 0.0f};  // a chunk with no key
                for (int d = 0; d < head_dim; ++d) acc[head_dim + d] = 0.0f;
            }
            const int stride = 3;
            const float nan = std::numeric_limits<float>::quiet_NaN();
            std::vector<lf::attn_partial> parts_apart(static_cast<size_t>(n) * stride, {nan, nan});
            std::vector<float> acc_apart(static_cast<size_t>(n) * stride * head_dim, nan);
            for (int i = 0; i < n; ++i) {
                parts_apart[static_cast<size_t>(i) * stride] = parts[i];
                std::copy_n(&acc[static_cast<size_t>(i) * head_dim], head_dim,
                            &acc_apart[static_cast<size_t>(i) * stride * head_dim]);
            }
            std::vector<float> want(head_dim), got(head_dim);
            lf::cpu::merge_partials_isa(cpu_isa::scalar, parts.data(), acc.data(), n, 1, head_dim, want.data());
            for (cpu_isa isa : supported_isas()) {
                lf::cpu::merge_partials_isa(isa, parts.data(), acc.data(), n, 1, head_dim, got.data());
                ASSERT_EQ(std::memcmp(got.data(), want.data(), head_dim * 4), 0)
                    << lf::isa_name(isa) << " d=" << head_dim << " n=" << n;
                lf::cpu::merge_partials_isa(isa, parts_apart.data(), acc_apart.data(), n, stride, head_dim, got.data());
                ASSERT_EQ(std::memcmp(got.data(), want.data(), head_dim * 4), 0)
                    << lf::isa_name(isa) << " d=" << head_dim << " n=" << n << " stride " << stride;
            }
        }
    }
}

TEST(Ops, RopeWithSharedAnglesEqualsRope) {
    std::mt19937 rng(15);
    std::normal_distribution<float> nd(0.0f, 1.0f);
    const int head_dim = 64;
    std::vector<float> inv(head_dim / 2);
    for (int i = 0; i < head_dim / 2; ++i) inv[i] = i % 5 == 4 ? 0.0f : std::pow(10000.0f, -2.0f * i / head_dim);
    std::vector<float> cs(head_dim);
    for (int pos : {0, 1, 77, 4095, 131071}) {
        std::vector<float> a(head_dim);
        for (auto& x : a) x = nd(rng);
        std::vector<float> b = a;
        lf::rope_neox(a.data(), head_dim, pos, inv.data());
        lf::rope_angles(head_dim, pos, inv.data(), cs.data());
        lf::rope_neox_cs(b.data(), head_dim, inv.data(), cs.data());
        ASSERT_EQ(std::memcmp(a.data(), b.data(), head_dim * 4), 0) << "pos " << pos;
    }
}

}  // namespace

TEST(Rope, InverseFrequenciesAndProportionalFactors) {
    const std::vector<float> plain = lf::rope_inv_freq(10000.0f, 8, nullptr);  // f32 [4]
    ASSERT_EQ(plain.size(), 4u);
    for (int i = 0; i < 4; ++i)
        EXPECT_EQ(plain[i], static_cast<float>(1.0 / std::pow(10000.0, static_cast<double>(2.0f * i / 8.0f)))) << i;
    // A factor divides its frequency; a huge factor switches the dimension off (no rotation).
    const std::vector<float> factors = {1.0f, 2.0f, 1e30f, 4.0f};
    const std::vector<float> scaled = lf::rope_inv_freq(10000.0f, 8, &factors);
    EXPECT_EQ(scaled[0], plain[0]);
    EXPECT_EQ(scaled[1], plain[1] / 2.0f);
    EXPECT_EQ(scaled[2], 0.0f);
    EXPECT_EQ(scaled[3], plain[3] / 4.0f);
}
