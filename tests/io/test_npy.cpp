// Tests of io/npy.hpp: NumPy's own bytes, round trips, header versions, and every malformed-file error.
#include <doctest/doctest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "surgery/io/npy.hpp"

namespace fs = std::filesystem;
using surgery::io_error;
using surgery::ir::DType;
using surgery::ir::Tensor;

namespace {

/// np.save(f, np.arange(6, dtype=np.float32).reshape(2, 3) * 0.5) with NumPy 1.24, byte for byte.
const std::string numpy_f32_2x3(
    "\x93\x4e\x55\x4d\x50\x59\x01\x00\x76\x00\x7b\x27\x64\x65\x73\x63\x72\x27\x3a\x20\x27\x3c\x66\x34"
    "\x27\x2c\x20\x27\x66\x6f\x72\x74\x72\x61\x6e\x5f\x6f\x72\x64\x65\x72\x27\x3a\x20\x46\x61\x6c\x73"
    "\x65\x2c\x20\x27\x73\x68\x61\x70\x65\x27\x3a\x20\x28\x32\x2c\x20\x33\x29\x2c\x20\x7d\x20\x20\x20"
    "\x20\x20\x20\x20\x20\x20\x20\x20\x20\x20\x20\x20\x20\x20\x20\x20\x20\x20\x20\x20\x20\x20\x20\x20"
    "\x20\x20\x20\x20\x20\x20\x20\x20\x20\x20\x20\x20\x20\x20\x20\x20\x20\x20\x20\x20\x20\x20\x20\x20"
    "\x20\x20\x20\x20\x20\x20\x20\x0a\x00\x00\x00\x00\x00\x00\x00\x3f\x00\x00\x80\x3f\x00\x00\xc0\x3f"
    "\x00\x00\x00\x40\x00\x00\x20\x40",
    152);

/// A .npy file of format `major`.0 with header dict `dict` and raw data `data`, padded as NumPy pads.
std::string npy(int major, std::string_view dict, std::string_view data) {
    const std::size_t preamble = major == 1 ? 10 : 12;
    std::string header(dict);
    header.append((64 - (preamble + header.size() + 1) % 64) % 64, ' ');
    header.push_back('\n');
    std::string out("\x93NUMPY", 6);
    out.push_back(static_cast<char>(major));
    out.push_back('\0');
    const int len_bytes = major == 1 ? 2 : 4;
    for (int k = 0; k < len_bytes; ++k) out.push_back(static_cast<char>((header.size() >> (8 * k)) & 0xff));
    return out + header + std::string(data);
}

std::string npy_error_of(std::string_view bytes) {
    try {
        (void)surgery::io::parse_npy(bytes, "'x.npy'");
    } catch (const io_error& e) {
        return e.what();
    }
    return "no error";
}

struct npy_temp_dir {
    fs::path path;
    npy_temp_dir() : path(fs::temp_directory_path() / ("surgery_test_npy_" + std::to_string(std::random_device{}()))) { fs::create_directories(path); }
    ~npy_temp_dir() {
        std::error_code ec;
        fs::remove_all(path, ec);
    }
};

} // namespace

TEST_CASE("npy: reads NumPy's own file") {
    const Tensor t = surgery::io::parse_npy(numpy_f32_2x3);
    CHECK(t.dtype == DType::f32);
    CHECK(t.shape == surgery::ir::Shape{2, 3});
    CHECK(t.f == std::vector<float>{0.0f, 0.5f, 1.0f, 1.5f, 2.0f, 2.5f});
}

TEST_CASE("npy: int64, scalars, empty arrays, version 2.0 and 3.0, big-endian") {
    std::string i64;
    for (std::int64_t v : {1, -2, 3}) i64.append(reinterpret_cast<const char*>(&v), 8);
    Tensor t = surgery::io::parse_npy(npy(1, "{'descr': '<i8', 'fortran_order': False, 'shape': (3,), }", i64));
    CHECK(t.dtype == DType::i64);
    CHECK(t.shape == surgery::ir::Shape{3});
    CHECK(t.i == std::vector<std::int64_t>{1, -2, 3});

    const float s = 3.25f;
    t = surgery::io::parse_npy(npy(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (), }", std::string_view(reinterpret_cast<const char*>(&s), 4)));
    CHECK(t.shape.empty());
    CHECK(t.f == std::vector<float>{3.25f});

    t = surgery::io::parse_npy(npy(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (0, 4), }", ""));
    CHECK(t.shape == surgery::ir::Shape{0, 4});
    CHECK(t.f.empty());

    const float two[2] = {1.5f, 2.5f};
    const std::string_view raw(reinterpret_cast<const char*>(two), 8);
    for (int major : {2, 3}) {
        t = surgery::io::parse_npy(npy(major, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 1), }", raw));
        CHECK(t.shape == surgery::ir::Shape{2, 1});
        CHECK(t.f == std::vector<float>{1.5f, 2.5f});
    }

    // np.array([1.0, -2.0], dtype='>f4'); keys in another order and double quotes are accepted too.
    t = surgery::io::parse_npy(npy(1, "{\"shape\": (2,), \"fortran_order\": False, \"descr\": \">f4\"}", std::string("\x3f\x80\x00\x00\xc0\x00\x00\x00", 8)));
    CHECK(t.f == std::vector<float>{1.0f, -2.0f});
}

TEST_CASE("npy: round trips through format_npy / write_npy") {
    npy_temp_dir dir;
    Tensor f = Tensor::floats({2, 1, 3}, {1, -2, 3.5f, 0, 1e-7f, -1e30f});
    Tensor i = Tensor::ints({4}, {0, -1, std::int64_t{1} << 40, 7});
    Tensor scalar = Tensor::scalar(-0.25f);
    for (const Tensor* t : {&f, &i, &scalar}) {
        const std::string bytes = surgery::io::format_npy(*t);
        CHECK(surgery::io::parse_npy(bytes) == *t);
        const fs::path p = dir.path / "t.npy";
        surgery::io::write_npy(*t, p);
        CHECK(surgery::io::read_npy(p) == *t);
    }
    // The data starts at a multiple of 64 bytes, and the header says what NumPy would.
    const std::string bytes = surgery::io::format_npy(f);
    CHECK((bytes.size() - 6 * 4) % 64 == 0);
    CHECK(bytes.find("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 1, 3), }") != std::string::npos);
    CHECK(surgery::io::format_npy(Tensor::floats({5}, {1, 2, 3, 4, 5})).find("'shape': (5,)") != std::string::npos);
    // int32 tensors are written as int64.
    const Tensor i32 = Tensor::ints({2}, {5, 6}, DType::i32);
    CHECK(surgery::io::parse_npy(surgery::io::format_npy(i32)).dtype == DType::i64);
    // Our own output equals NumPy's data section for the same array.
    const std::string ours = surgery::io::format_npy(surgery::io::parse_npy(numpy_f32_2x3));
    CHECK(ours.substr(ours.size() - 24) == numpy_f32_2x3.substr(numpy_f32_2x3.size() - 24));
}

TEST_CASE("npy: clear errors naming the file") {
    const std::string data8(8, '\0');
    CHECK(npy_error_of("hello world, not numpy") == "'x.npy': not a .npy file (the magic string \\x93NUMPY is missing)");
    CHECK(npy_error_of(npy(1, "{'descr': '<f4', 'fortran_order': True, 'shape': (2,), }", data8)).find("Fortran order") != std::string::npos);
    const std::string f64 = npy_error_of(npy(1, "{'descr': '<f8', 'fortran_order': False, 'shape': (1,), }", data8));
    CHECK(f64.find("'x.npy': element type '<f8' is not supported") == 0);
    CHECK(f64.find("astype(numpy.float32)") != std::string::npos);
    CHECK(npy_error_of(npy(1, "{'descr': '|b1', 'fortran_order': False, 'shape': (1,), }", "x")).find("'|b1' is not supported") != std::string::npos);
    CHECK(npy_error_of(npy(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }", data8)) ==
          "'x.npy': truncated .npy file (shape [3] needs 12 bytes of data, the file has 8)");
    CHECK(npy_error_of(npy(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }", data8)).find("4 unexpected bytes") != std::string::npos);
    CHECK(npy_error_of(numpy_f32_2x3.substr(0, 40)).find("truncated .npy file (the header claims") != std::string::npos);
    CHECK(npy_error_of(npy(1, "{'descr': '<f4', 'shape': (1,), }", data8)).find("lacks one of") != std::string::npos);
    CHECK(npy_error_of(npy(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (-1,), }", data8)).find("non-negative") != std::string::npos);
    CHECK(npy_error_of(npy(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'extra': 1}", data8)).find("unexpected key 'extra'") != std::string::npos);
    CHECK(npy_error_of(npy(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999, 99999999999), }", data8)).find("too large") !=
          std::string::npos);
    std::string v9 = numpy_f32_2x3;
    v9[6] = 9;
    CHECK(npy_error_of(v9).find("format version 9.0 is not supported") != std::string::npos);

    npy_temp_dir dir;
    CHECK_THROWS_WITH_AS((void)surgery::io::read_npy(dir.path / "missing.npy"),
                         (surgery::io::quoted(dir.path / "missing.npy") + ": cannot open the file for reading: No such file or directory").c_str(), io_error);
    CHECK_THROWS_WITH_AS((void)surgery::io::read_npy(dir.path), doctest::Contains("is a directory, not a regular file"), io_error);
    CHECK_THROWS_WITH_AS(surgery::io::write_npy(Tensor::scalar(1), dir.path / "no" / "such" / "dir.npy"),
                         doctest::Contains("does not exist"), io_error);
    Tensor broken = Tensor::floats({2}, {1, 2});
    broken.f.pop_back();
    CHECK_THROWS_WITH_AS(surgery::io::write_npy(broken, dir.path / "b.npy"), doctest::Contains("b.npy"), io_error);
    CHECK_FALSE(fs::exists(dir.path / "b.npy"));
    // Nothing but the written files is left in the directory (no temporaries).
    surgery::io::write_npy(Tensor::scalar(1), dir.path / "ok.npy");
    std::size_t files = 0;
    for (const auto& e : fs::directory_iterator(dir.path)) files += e.is_regular_file() ? 1 : 0;
    CHECK(files == 1);
}

TEST_CASE("npy: shapes are checked against the memory limit before anything is allocated") {
    const std::string none;
    const auto dict = [](const std::string& shape) { return "{'descr': '<f4', 'fortran_order': False, 'shape': " + shape + ", }"; };
    // (2^30, 0): a zero-size array whose other dimension would be 4 GiB of float32.
    const std::string zero = npy(1, dict("(1073741824, 0)"), none);
    CHECK(npy_error_of(zero) == "no error"); // within the default 16 GiB: legal
    CHECK_THROWS_WITH_AS((void)surgery::io::parse_npy(zero, "'x.npy'", std::uint64_t{1} << 30),
                         "'x.npy': shape [1073741824,0] is too large: a zero-size array, but its other dimensions multiply to 1073741824 elements (4 GiB "
                         "of float32), more than the memory limit of 1 GiB",
                         io_error);
    CHECK(npy_error_of(npy(1, dict("(17179869184, 0)"), none)).find("a zero-size array, but its other dimensions multiply to 17179869184 elements (64 GiB") !=
          std::string::npos);
    // A shape over the limit is refused before its (absent) data is looked at.
    CHECK(npy_error_of(npy(1, dict("(1073741824,)"), "12345678")).find("truncated .npy file") != std::string::npos); // within the default 16 GiB
    CHECK_THROWS_WITH_AS((void)surgery::io::parse_npy(npy(1, dict("(1073741824,)"), "12345678"), "'x.npy'", std::uint64_t{1} << 30),
                         "'x.npy': shape [1073741824] is too large: 1073741824 elements are 4 GiB of float32, more than the memory limit of 1 GiB",
                         io_error);
    // Products that overflow 64 bits, zero or not.
    CHECK(npy_error_of(npy(1, dict("(4611686018427387904, 4611686018427387904)"), none)).find("overflows 64 bits") != std::string::npos);
    CHECK(npy_error_of(npy(1, dict("(4611686018427387904, 4611686018427387904, 0)"), none)).find("overflows 64 bits") != std::string::npos);
    // More than 64 dimensions, a v2 header longer than 1 MiB.
    std::string dims = "(";
    for (int k = 0; k < 65; ++k) dims += "1, ";
    CHECK(npy_error_of(npy(1, dict(dims + ")"), std::string(4, '\0'))).find("more than 64 dimensions") != std::string::npos);
    CHECK(npy_error_of(std::string("\x93NUMPY\x02\x00\xff\xff\xff\xff{}", 14)).find("the .npy header claims 4294967295 bytes") != std::string::npos);
    // Names in the header are escaped in messages.
    CHECK(npy_error_of(npy(1, "{'k\x1b[2J': 1}", none)).find("unexpected key 'k\\x1b[2J'") != std::string::npos);
}

TEST_CASE("npy: read_npy reads regular files only, the header first") {
    npy_temp_dir dir;
    const std::string fifo = (dir.path / "f.npy").string();
    REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
    CHECK_THROWS_WITH_AS((void)surgery::io::read_npy(fifo), doctest::Contains("is a FIFO (named pipe), not a regular file"), io_error); // no hang
    CHECK_THROWS_WITH_AS((void)surgery::io::read_npy("/dev/zero"), doctest::Contains("is a character device"), io_error);
    // A file whose header declares more than the limit: refused without reading its data.
    const fs::path big = dir.path / "big.npy";
    {
        std::ofstream f(big, std::ios::binary);
        const std::string head = npy(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (268435455,), }", ""); // 4 bytes short of 1 GiB
        f.write(head.data(), static_cast<std::streamsize>(head.size()));
    }
    fs::resize_file(big, fs::file_size(big) + (std::uint64_t{1} << 30)); // sparse: 1 GiB of zeros
    CHECK_THROWS_WITH_AS((void)surgery::io::read_npy(big, std::uint64_t{256} << 20), doctest::Contains("the file has"), io_error);
    CHECK_THROWS_WITH_AS((void)surgery::io::read_npy(big, std::uint64_t{2} << 30), doctest::Contains("4 unexpected bytes after the data"), io_error);
    // Data read straight into the tensor, for every header version, with a tiny limit that still fits.
    const float two[2] = {1.5f, 2.5f};
    for (int major : {1, 2, 3}) {
        const fs::path p = dir.path / (std::to_string(major) + "v.npy"); // (not "v" + ...: g++ 12 warns falsely with -Wrestrict)
        std::ofstream(p, std::ios::binary) << npy(major, "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }",
                                                  std::string_view(reinterpret_cast<const char*>(two), 8));
        CHECK(surgery::io::read_npy(p, 8).f == std::vector<float>{1.5f, 2.5f});
        CHECK_THROWS_WITH_AS((void)surgery::io::read_npy(p, 7), doctest::Contains("more than the memory limit of 7 bytes"), io_error);
    }
    // Truncated files say so, whether the header or the data is cut.
    const fs::path cut = dir.path / "cut.npy";
    std::ofstream(cut, std::ios::binary) << numpy_f32_2x3.substr(0, 140);
    CHECK_THROWS_WITH_AS((void)surgery::io::read_npy(cut), doctest::Contains("truncated .npy file (shape [2,3] needs 24 bytes of data, the file has 12)"),
                         io_error);
    std::ofstream(cut, std::ios::binary) << numpy_f32_2x3.substr(0, 40);
    CHECK_THROWS_WITH_AS((void)surgery::io::read_npy(cut), doctest::Contains("truncated .npy file (the header claims"), io_error);
    std::ofstream(cut, std::ios::binary) << numpy_f32_2x3.substr(0, 5);
    CHECK_THROWS_WITH_AS((void)surgery::io::read_npy(cut), doctest::Contains("not a .npy file"), io_error);
}
