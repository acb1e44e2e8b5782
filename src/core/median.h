// The median of a sample: the middle value, or the mean of the two middle ones; 0 when empty.
#pragma once
#include <algorithm>
#include <cstddef>
#include <vector>

namespace lf {

inline double median(std::vector<double> v) {
    if (v.empty()) return 0;
    std::sort(v.begin(), v.end());
    const std::size_t n = v.size();
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

}  // namespace lf
