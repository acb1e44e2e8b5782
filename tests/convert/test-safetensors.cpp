// safetensors reader: valid files read back exactly; every kind of corrupt header is an lf::error
// that names the problem (and the tensor), and random corruption never crashes.
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <unistd.h>
#include <string>
#include <vector>

#include "convert/safetensors.h"
#include "core/error.h"
#include "quant/quant.h"

namespace fs = std::filesystem;
using namespace lf;

namespace {

// A safetensors image from a header JSON string and a data area.
std::vector<uint8_t> image(const std::string& header, const std::vector<uint8_t>& data) {
    std::vector<uint8_t> out(8);
    uint64_t n = header.size();
    for (int i = 0; i < 8; ++i) out[static_cast<size_t>(i)] = static_cast<uint8_t>(n >> (8 * i));
    out.insert(out.end(), header.begin(), header.end());
    out.insert(out.end(), data.begin(), data.end());
    return out;
}

std::vector<uint8_t> bytes_of(const std::vector<float>& v) {
    std::vector<uint8_t> b(v.size() * 4);
    std::memcpy(b.data(), v.data(), b.size());
    return b;
}

// Runs from_memory and returns the error message ("" when it loads).
std::string error_of(const std::vector<uint8_t>& img) {
    try {
        safetensors_file::from_memory(img.data(), img.size(), "test.safetensors");
    } catch (const lf::error& e) {
        return e.what();
    }
    return "";
}

std::vector<uint8_t> valid_image() {
    // a: f32 [2, 3]; b: f16 [4]; c: bf16 [2]; d: i64 [3]
    std::vector<uint8_t> data = bytes_of({1, 2, 3, 4, 5, 6});
    for (float x : {0.5f, -2.0f, 65504.0f, 0.0f}) {
        uint16_t h = fp32_to_fp16(x);
        data.push_back(static_cast<uint8_t>(h));
        data.push_back(static_cast<uint8_t>(h >> 8));
    }
    for (float x : {3.0f, -1.5f}) {
        uint16_t h = fp32_to_bf16(x);
        data.push_back(static_cast<uint8_t>(h));
        data.push_back(static_cast<uint8_t>(h >> 8));
    }
    for (int64_t x : {7, 262143, 0}) {
        uint8_t b[8];
        std::memcpy(b, &x, 8);
        data.insert(data.end(), b, b + 8);
    }
    std::string header = R"({"__metadata__":{"format":"pt"},)"
                         R"("a":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]},)"
                         R"("b":{"dtype":"F16","shape":[4],"data_offsets":[24,32]},)"
                         R"("c":{"dtype":"BF16","shape":[2],"data_offsets":[32,36]},)"
                         R"("d":{"dtype":"I64","shape":[3],"data_offsets":[36,60]}})";
    return image(header, data);
}

std::string one_tensor(const std::string& entry, size_t data_bytes = 24) {
    return error_of(image("{\"w\":" + entry + "}", std::vector<uint8_t>(data_bytes)));
}

}  // namespace

TEST(Safetensors, ReadsEveryFloatTypeAndIntegerBuffers) {
    auto img = valid_image();
    safetensors_file f = safetensors_file::from_memory(img.data(), img.size(), "valid");
    ASSERT_EQ(f.tensors.size(), 4u);
    EXPECT_EQ(f.metadata.at("format"), "pt");
    safetensors_model m;
    m.add_file(std::move(f));
    const st_tensor& a = m.get("a");
    EXPECT_EQ(a.shape, (std::vector<int64_t>{2, 3}));
    EXPECT_EQ(a.row_length(), 3);
    EXPECT_EQ(a.n_rows(), 2);
    std::vector<float> out(6);
    st_read_f32(a, 0, 6, out.data());
    EXPECT_EQ(out, (std::vector<float>{1, 2, 3, 4, 5, 6}));
    st_read_f32(a, 3, 3, out.data());  // second row alone
    EXPECT_EQ(out[0], 4);
    EXPECT_EQ(out[2], 6);
    st_read_f32(m.get("b"), 0, 4, out.data());
    EXPECT_EQ(out[0], 0.5f);
    EXPECT_EQ(out[1], -2.0f);
    EXPECT_EQ(out[2], 65504.0f);
    st_read_f32(m.get("c"), 0, 2, out.data());
    EXPECT_EQ(out[0], 3.0f);
    EXPECT_EQ(out[1], -1.5f);
    st_read_f32(m.get("d"), 0, 3, out.data());
    EXPECT_EQ(out[1], 262143.0f);
    EXPECT_EQ(m.names(), (std::vector<std::string>{"a", "b", "c", "d"}));
    EXPECT_EQ(m.find("missing"), nullptr);
    EXPECT_THROW(m.get("missing"), lf::error);
}

TEST(Safetensors, IntegerValuesBeyondF32PrecisionAreRefused) {
    int64_t big = (int64_t(1) << 24) + 1;
    std::vector<uint8_t> data(8);
    std::memcpy(data.data(), &big, 8);
    auto img = image(R"({"ids":{"dtype":"I64","shape":[1],"data_offsets":[0,8]}})", data);
    safetensors_file f = safetensors_file::from_memory(img.data(), img.size(), "ids");
    float out;
    try {
        st_read_f32(f.tensors[0], 0, 1, &out);
        FAIL() << "expected an error";
    } catch (const lf::error& e) {
        EXPECT_NE(std::string(e.what()).find("ids"), std::string::npos) << e.what();
    }
}

TEST(Safetensors, UnreadableDtypeNamesTheTensor) {
    auto img = image(R"({"w64":{"dtype":"F64","shape":[2],"data_offsets":[0,16]}})", std::vector<uint8_t>(16));
    safetensors_file f = safetensors_file::from_memory(img.data(), img.size(), "f64");
    EXPECT_FALSE(st_readable_as_f32(f.tensors[0].type));
    float out[2];
    try {
        st_read_f32(f.tensors[0], 0, 2, out);
        FAIL() << "expected an error";
    } catch (const lf::error& e) {
        std::string msg = e.what();
        EXPECT_NE(msg.find("w64"), std::string::npos) << msg;
        EXPECT_NE(msg.find("F64"), std::string::npos) << msg;
    }
}

TEST(Safetensors, TruncatedFiles) {
    EXPECT_NE(error_of({1, 2, 3}).find("too short"), std::string::npos);
    auto img = valid_image();
    // The header length claims more than the file holds.
    std::vector<uint8_t> cut(img.begin(), img.begin() + 40);
    EXPECT_NE(error_of(cut).find("past the end"), std::string::npos) << error_of(cut);
    // Header intact, data area cut short: the last tensor's offsets now run past it.
    std::vector<uint8_t> short_data(img.begin(), img.end() - 10);
    std::string msg = error_of(short_data);
    EXPECT_NE(msg.find("'d'"), std::string::npos) << msg;
    // An absurd header length.
    std::vector<uint8_t> huge = img;
    huge[7] = 0x7f;
    EXPECT_NE(error_of(huge).find("header length"), std::string::npos) << error_of(huge);
}

TEST(Safetensors, BadJson) {
    EXPECT_NE(error_of(image("{\"a\": [1, 2", {})).find("not valid JSON"), std::string::npos);
    EXPECT_NE(error_of(image("[1, 2, 3]", {})).find("not an object"), std::string::npos);
    EXPECT_NE(error_of(image(std::string(100, '[') + std::string(100, ']'), {})).find("nests deeper"), std::string::npos);
    EXPECT_NE(error_of(image(R"({"__metadata__":{"k":1}})", {})).find("__metadata__"), std::string::npos);
}

TEST(Safetensors, MalformedEntriesNameTheTensor) {
    for (const std::string& entry : {
             std::string(R"({"dtype":"F32","shape":[2,3]})"),                                // no offsets
             std::string(R"({"dtype":"F32","data_offsets":[0,24]})"),                        // no shape
             std::string(R"({"shape":[2,3],"data_offsets":[0,24]})"),                        // no dtype
             std::string(R"({"dtype":"F32","shape":[2,-3],"data_offsets":[0,24]})"),         // negative dim
             std::string(R"({"dtype":"F32","shape":[2,3.0],"data_offsets":[0,24]})"),        // float dim
             std::string(R"({"dtype":"F32","shape":[2,3],"data_offsets":[0]})"),             // one offset
             std::string(R"({"dtype":"F32","shape":[2,3],"data_offsets":[24,0]})"),          // reversed
             std::string(R"({"dtype":"F32","shape":[1,1,1,1,1,1,1,1,1],"data_offsets":[0,4]})"),  // too many dims
             std::string(R"("not an object")"),
         }) {
        std::string msg = one_tensor(entry);
        EXPECT_NE(msg.find("'w'"), std::string::npos) << entry << " → " << msg;
    }
}

TEST(Safetensors, UnknownDtype) {
    std::string msg = one_tensor(R"({"dtype":"Q4","shape":[2,3],"data_offsets":[0,24]})");
    EXPECT_NE(msg.find("'w'"), std::string::npos) << msg;
    EXPECT_NE(msg.find("unknown dtype 'Q4'"), std::string::npos) << msg;
}

TEST(Safetensors, ShapeAndSpanMustAgree) {
    std::string msg = one_tensor(R"({"dtype":"F32","shape":[2,2],"data_offsets":[0,24]})");
    EXPECT_NE(msg.find("'w'"), std::string::npos) << msg;
    EXPECT_NE(msg.find("16 bytes but data_offsets span 24"), std::string::npos) << msg;
    // Dimensions whose product overflows 64 bits.
    msg = one_tensor(R"({"dtype":"F32","shape":[4294967296,4294967296,16],"data_offsets":[0,24]})");
    EXPECT_NE(msg.find("'w'"), std::string::npos) << msg;
    // A zero dimension makes an empty tensor regardless of the others.
    EXPECT_EQ(one_tensor(R"({"dtype":"F32","shape":[4294967296,0],"data_offsets":[24,24]})"), "");
}

TEST(Safetensors, OffsetsOutsideTheDataArea) {
    std::string msg = one_tensor(R"({"dtype":"F32","shape":[2,3],"data_offsets":[8,32]})");
    EXPECT_NE(msg.find("'w'"), std::string::npos) << msg;
    EXPECT_NE(msg.find("past the data area"), std::string::npos) << msg;
    msg = one_tensor(R"({"dtype":"F32","shape":[1],"data_offsets":[18446744073709551612,18446744073709551616]})");
    EXPECT_NE(msg, "");
}

TEST(Safetensors, OverlappingTensors) {
    std::string header = R"({"x":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},)"
                         R"("y":{"dtype":"F32","shape":[4],"data_offsets":[8,24]}})";
    std::string msg = error_of(image(header, std::vector<uint8_t>(24)));
    EXPECT_NE(msg.find("overlap"), std::string::npos) << msg;
    EXPECT_NE(msg.find("'x'"), std::string::npos) << msg;
    EXPECT_NE(msg.find("'y'"), std::string::npos) << msg;
}

TEST(Safetensors, RandomCorruptionNeverCrashes) {
    const auto valid = valid_image();
    std::mt19937 rng(1234);
    int loaded = 0, refused = 0;
    for (int iter = 0; iter < 3000; ++iter) {
        auto img = valid;
        int kind = static_cast<int>(rng() % 3);
        if (kind == 0) {
            img.resize(rng() % img.size());
        } else {
            int flips = 1 + static_cast<int>(rng() % 4);
            for (int k = 0; k < flips; ++k) img[rng() % img.size()] = static_cast<uint8_t>(rng());
        }
        try {
            safetensors_file f = safetensors_file::from_memory(img.data(), img.size(), "mutated");
            // A file that loads must be readable in full without faults.
            std::vector<float> buf;
            for (const auto& t : f.tensors) {
                if (!st_readable_as_f32(t.type)) continue;
                buf.resize(static_cast<size_t>(t.n_elements()));
                try {
                    st_read_f32(t, 0, t.n_elements(), buf.data());
                } catch (const lf::error&) {
                }
            }
            ++loaded;
        } catch (const lf::error&) {
            ++refused;
        }
    }
    EXPECT_GT(refused, 1000);
    EXPECT_GT(loaded, 0);
}

TEST(Safetensors, ShardedCheckpoint) {
    fs::path dir = fs::temp_directory_path() / ("lf-st-shards-" + std::to_string(::getpid()));
    fs::create_directories(dir);
    auto write = [&](const std::string& name, const std::vector<uint8_t>& bytes) {
        std::ofstream(dir / name, std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()),
                                                         static_cast<std::streamsize>(bytes.size()));
    };
    write("model-00001-of-00002.safetensors",
          image(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})", bytes_of({1, 2})));
    write("model-00002-of-00002.safetensors",
          image(R"({"b":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})", bytes_of({3})));
    std::string index = R"({"metadata":{},"weight_map":{"a":"model-00001-of-00002.safetensors",)"
                        R"("b":"model-00002-of-00002.safetensors"}})";
    std::ofstream(dir / "model.safetensors.index.json") << index;
    safetensors_model m = safetensors_model::open(dir.string());
    ASSERT_EQ(m.size(), 2u);
    float v;
    st_read_f32(m.get("b"), 0, 1, &v);
    EXPECT_EQ(v, 3.0f);

    // The index may not point outside its directory, nor list a tensor its shard lacks.
    std::ofstream(dir / "model.safetensors.index.json") << R"({"weight_map":{"a":"../x.safetensors"}})";
    EXPECT_THROW(safetensors_model::open(dir.string()), lf::error);
    std::ofstream(dir / "model.safetensors.index.json")
        << R"({"weight_map":{"a":"model-00001-of-00002.safetensors","c":"model-00002-of-00002.safetensors"}})";
    try {
        safetensors_model::open(dir.string());
        FAIL() << "expected an error";
    } catch (const lf::error& e) {
        EXPECT_NE(std::string(e.what()).find("'c'"), std::string::npos) << e.what();
    }
    // The same tensor in two shards.
    write("model-00002-of-00002.safetensors",
          image(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})", bytes_of({3})));
    std::ofstream(dir / "model.safetensors.index.json") << index;
    EXPECT_THROW(safetensors_model::open(dir.string()), lf::error);
    fs::remove_all(dir);
    EXPECT_THROW(safetensors_model::open(dir.string()), lf::error);
}
