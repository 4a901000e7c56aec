// Tests of io/dataset.hpp (and the opt-in io/gzip.hpp, io/image.hpp when zlib / stb are found): IDX and
// .npy readers with every malformed-file error, preprocessing checked by hand and against PyTorch,
// spec strings, image folders, and the real Fashion-MNIST files when Debian's package is installed.
#include <doctest/doctest.h>

#include <array>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "surgery/io/dataset.hpp"
#include "surgery/io/npy.hpp"

#include "../support/thrown.hpp"

#if SURGERY_WITH_ZLIB
#include <zlib.h>

#include "surgery/io/gzip.hpp"
#endif
#if SURGERY_WITH_STB
#include "surgery/io/image.hpp"
#endif

namespace fs = std::filesystem;
namespace io = surgery::io;
using surgery::io_error;
using surgery::ir::Shape;
using surgery::ir::Tensor;

namespace {

struct temp_dir {
    fs::path path;
    temp_dir() : path(fs::temp_directory_path() / ("surgery_test_dataset_" + std::to_string(std::random_device{}()))) { fs::create_directories(path); }
    ~temp_dir() {
        std::error_code ec;
        fs::remove_all(path, ec);
    }
    temp_dir(const temp_dir&) = delete;
    temp_dir& operator=(const temp_dir&) = delete;
};

void write(const fs::path& p, std::string_view bytes) {
    fs::create_directories(p.parent_path());
    std::ofstream(p, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

std::string idx_header(unsigned char type, std::vector<std::uint32_t> dims) {
    std::string h{'\0', '\0', static_cast<char>(type), static_cast<char>(dims.size())};
    for (auto d : dims)
        for (int b = 3; b >= 0; --b) h.push_back(static_cast<char>((d >> (8 * b)) & 0xff));
    return h;
}

template <class F>
std::string error_of(F&& f) {
    return surgery::test::thrown_message<io_error>(std::forward<F>(f), "no error");
}

bool contains(const std::string& s, std::string_view part) { return s.find(part) != std::string::npos; }

/// A .npy file of uint8 data (io::format_npy writes float32 and int64 only).
std::string npy_u8(std::string_view shape, std::string_view data) {
    std::string header = "{'descr': '|u1', 'fortran_order': False, 'shape': " + std::string(shape) + ", }";
    header.append((64 - (10 + header.size() + 1) % 64) % 64, ' ');
    header.push_back('\n');
    std::string out("\x93NUMPY\x01\x00", 8);
    out.push_back(static_cast<char>(header.size() & 0xff));
    out.push_back(static_cast<char>(header.size() >> 8));
    return out + header + std::string(data);
}

const fs::path fmnist_test_images = io::fashion_mnist_dir / "t10k-images-idx3-ubyte.gz";

} // namespace

TEST_CASE("dataset: IDX files round trip and open as a dataset with labels") {
    temp_dir dir;
    // 3 images of 2x3, values 0..17; labels 4, 0, 9.
    io::idx_array images{{3, 2, 3}, {}};
    for (std::uint8_t v = 0; v < 18; ++v) images.data.push_back(static_cast<std::uint8_t>(v * 15));
    const io::idx_array labels{{3}, {4, 0, 9}};
    const std::string bytes = io::format_idx(images);
    CHECK(bytes.substr(0, 16) == idx_header(0x08, {3, 2, 3}));
    CHECK(bytes.size() == 16 + 18);
    write(dir.path / "x-images-idx3-ubyte", bytes);
    write(dir.path / "x-labels-idx1-ubyte", io::format_idx(labels));

    const io::idx_array back = io::read_idx(dir.path / "x-images-idx3-ubyte");
    CHECK(back.dims == Shape{3, 2, 3});
    CHECK(back.data == images.data);

    const io::raw_images raw = io::read_idx_images(dir.path / "x-images-idx3-ubyte");
    CHECK(raw.shape == Shape{3, 1, 2, 3});
    CHECK(raw.is_u8());
    CHECK(io::read_idx_labels(dir.path / "x-labels-idx1-ubyte") == std::vector<std::int64_t>{4, 0, 9});

    // The idx: kind finds the labels next to the images by name.
    const io::dataset d = io::open_dataset("idx:" + (dir.path / "x-images-idx3-ubyte").string());
    CHECK(d.size() == 3);
    CHECK(d.has_labels());
    CHECK(d.labels() == std::vector<std::int64_t>{4, 0, 9});
    CHECK(d.sample_shape() == Shape{1, 2, 3});
    const Tensor b = d.batch(1, 5); // clipped to the 2 remaining samples
    CHECK(b.shape == Shape{2, 1, 2, 3});
    CHECK(b.f[0] == 90.0f / 255.0f); // sample 1, first pixel: 6 * 15
    CHECK(b.f[11] == 255.0f / 255.0f);
    CHECK(d.batch_labels(1, 5).i == std::vector<std::int64_t>{0, 9});
    CHECK(d.batch(3, 4).shape == Shape{0, 1, 2, 3});
    CHECK(contains(error_of([&] { (void)d.batch(4, 1); }), "batch(4, 1) is outside the 3 samples"));
    CHECK(d.first(2).size() == 2);
    CHECK(d.first(2).labels() == std::vector<std::int64_t>{4, 0});

    // Without a labels file next to it, an IDX file is a dataset without labels.
    write(dir.path / "plain.idx", bytes);
    const io::dataset unlabelled = io::open_dataset((dir.path / "plain.idx").string());
    CHECK_FALSE(unlabelled.has_labels());
    CHECK(contains(error_of([&] { (void)unlabelled.batch_labels(0, 1); }), "has no labels"));

    // Label count mismatch names both files.
    write(dir.path / "two-labels", io::format_idx(io::idx_array{{2}, {1, 2}}));
    const std::string e = error_of([&] { (void)io::open_idx(dir.path / "plain.idx", dir.path / "two-labels", {}); });
    CHECK(contains(e, "two-labels'"));
    CHECK(contains(e, "2 labels for the 3 images of '"));
}

TEST_CASE("dataset: malformed IDX files give clear errors naming the file") {
    temp_dir dir;
    auto err = [&](std::string_view bytes) {
        write(dir.path / "bad", bytes);
        return error_of([&] { (void)io::read_idx(dir.path / "bad"); });
    };
    const std::string name = "'" + (dir.path / "bad").string() + "': ";
    CHECK(err("\x01\x02\x08\x01") == name + "not an IDX file (the magic number must start with two zero bytes)");
    CHECK(err("PK") == name + "not an IDX file (the magic number must start with two zero bytes)");
    CHECK(err(idx_header(0x0D, {1}) + std::string(4, '\0')) == name + "IDX element type 0x0D (float32) is not supported (unsigned byte, 0x08, is)");
    CHECK(err(idx_header(0x08, {})) == name + "the IDX header declares no dimensions");
    CHECK(err(idx_header(0x08, {3, 2}).substr(0, 9)) == name + "truncated IDX header (2 dimensions need 12 bytes, the file has 9)");
    CHECK(err(idx_header(0x08, {2, 3}) + std::string(5, 'x')) == name + "truncated IDX file (dimensions [2,3] need 6 bytes of data, the file has 5)");
    CHECK(err(idx_header(0x08, {2, 3}) + std::string(8, 'x')) == name + "2 unexpected bytes after the IDX data of dimensions [2,3]");
    // 2^32-1 in each of 4 dimensions overflows any 64-bit count: refused before allocating.
    CHECK(err(idx_header(0x08, {0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu})) ==
          name + "IDX dimensions [4294967295,4294967295,4294967295,4294967295] are too large (more than 2^40 elements)");
    CHECK(err(idx_header(0x08, {1u << 21, 1u << 20})) == name + "IDX dimensions [2097152,1048576] are too large (more than 2^40 elements)");
    // A zero dimension is a valid, empty file.
    CHECK(err(idx_header(0x08, {0, 28, 28})) == "no error");
    // Images must be 3-D, labels 1-D.
    write(dir.path / "labels", io::format_idx(io::idx_array{{2}, {1, 2}}));
    CHECK(contains(error_of([&] { (void)io::read_idx_images(dir.path / "labels"); }), "an IDX images file has 3 dimensions [N, H, W], this one has 1 [2]"));
    write(dir.path / "images", io::format_idx(io::idx_array{{1, 1, 2}, {1, 2}}));
    CHECK(contains(error_of([&] { (void)io::read_idx_labels(dir.path / "images"); }), "an IDX labels file has 1 dimension [N], this one has 3"));
    CHECK(contains(error_of([&] { (void)io::read_idx(dir.path / "missing"); }), "missing': cannot open the file for reading"));
    // Gzip data without a decoder says what to do.
    const std::string gz = err(std::string("\x1f\x8b\x08\x00", 4));
    CHECK(contains(gz, name + "the file is gzip-compressed"));
    CHECK(contains(gz, "surgery::io::gunzip"));
}

#if SURGERY_WITH_ZLIB
namespace {
std::string gzip(std::string_view data) {
    z_stream zs{};
    REQUIRE(deflateInit2(&zs, 9, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) == Z_OK);
    std::string out(deflateBound(&zs, static_cast<uLong>(data.size())) + 32, '\0');
    zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
    zs.avail_in = static_cast<uInt>(data.size());
    zs.next_out = reinterpret_cast<Bytef*>(out.data());
    zs.avail_out = static_cast<uInt>(out.size());
    REQUIRE(deflate(&zs, Z_FINISH) == Z_STREAM_END);
    out.resize(zs.total_out);
    deflateEnd(&zs);
    return out;
}
} // namespace

TEST_CASE("dataset: gzipped IDX files with io::gunzip (zlib)") {
    temp_dir dir;
    io::idx_array images{{2, 2, 2}, {0, 1, 2, 3, 4, 5, 6, 255}};
    write(dir.path / "t10k-images-idx3-ubyte.gz", gzip(io::format_idx(images)));
    write(dir.path / "t10k-labels-idx1-ubyte.gz", gzip(io::format_idx(io::idx_array{{2}, {7, 3}})));
    const io::codecs codecs{.gunzip = io::gunzip, .decode_image = {}};
    CHECK(io::read_idx(dir.path / "t10k-images-idx3-ubyte.gz", codecs).data == images.data);

    // A folder with the Fashion-MNIST names is the fmnist: kind.
    const io::dataset d = io::open_dataset(dir.path.string() + "?channels=3", codecs);
    CHECK(d.size() == 2);
    CHECK(d.labels() == std::vector<std::int64_t>{7, 3});
    CHECK(d.batch(0, 2).shape == Shape{2, 3, 2, 2});
    CHECK(contains(error_of([&] { (void)io::open_dataset("fmnist:" + dir.path.string() + "?split=train", codecs); }),
                   "train-images-idx3-ubyte': not found (nor with .gz)"));

    // Two concatenated members decompress to the concatenation, as gunzip does.
    CHECK(io::gunzip(gzip("ab") + gzip("cd"), "x") == "abcd");
    // Corrupt and truncated data name the source.
    std::string z = gzip(io::format_idx(images));
    CHECK(contains(error_of([&] { (void)io::gunzip(z.substr(0, z.size() / 2), "'t.gz'"); }), "'t.gz': truncated gzip data"));
    z[12] = static_cast<char>(z[12] ^ 0x55);
    z[13] = static_cast<char>(z[13] ^ 0x55);
    CHECK(contains(error_of([&] { (void)io::gunzip(z, "'t.gz'"); }), "'t.gz'"));
    CHECK(contains(error_of([&] { (void)io::gunzip(std::string_view{}, "'e.gz'"); }), "'e.gz': truncated gzip data"));
}
#endif

TEST_CASE("dataset: .npy images (float32 and uint8) with labels") {
    temp_dir dir;
    io::write_npy(Tensor::floats({2, 1, 1, 2}, {0.5f, -1.0f, 2.0f, 4.0f}), dir.path / "x.npy");
    io::write_npy(Tensor::ints({2}, {1, 0}), dir.path / "y.npy");
    io::dataset d = io::open_dataset(dir.path.string() + "/x.npy?labels=" + dir.path.string() + "/y.npy&mean=1&std=2");
    CHECK(d.preprocessing().scale == 1.0f); // float data is not rescaled by default
    CHECK(d.labels() == std::vector<std::int64_t>{1, 0});
    CHECK(d.batch(0, 2).f == std::vector<float>{-0.25f, -1.0f, 0.5f, 1.5f});

    // uint8 [N, H, W] images and uint8 labels.
    write(dir.path / "u8.npy", npy_u8("(2, 1, 2)", std::string("\x00\xff\x33\x66", 4)));
    write(dir.path / "l8.npy", npy_u8("(2,)", std::string("\x05\x02", 2)));
    d = io::open_npy(dir.path / "u8.npy", dir.path / "l8.npy", {});
    CHECK(d.raw().shape == Shape{2, 1, 1, 2});
    CHECK(d.preprocessing().scale == 255.0f);
    CHECK(d.labels() == std::vector<std::int64_t>{5, 2});
    CHECK(d.batch(0, 2).f == std::vector<float>{0.0f, 1.0f, 51.0f / 255.0f, 102.0f / 255.0f});

    // Errors name the file.
    write(dir.path / "short.npy", npy_u8("(2, 2)", "abc"));
    CHECK(contains(error_of([&] { (void)io::read_npy_images(dir.path / "short.npy"); }), "short.npy': truncated .npy file (shape [2,2] needs 4 bytes of data, the file has 3)"));
    io::write_npy(Tensor::floats({4}, {1, 2, 3, 4}), dir.path / "flat.npy");
    CHECK(contains(error_of([&] { (void)io::read_npy_images(dir.path / "flat.npy"); }), "flat.npy': images must be [N, C, H, W] or [N, H, W], this array is [4]"));
    CHECK(contains(error_of([&] { (void)io::read_npy_labels(dir.path / "flat.npy"); }), "flat.npy': labels must be int64 or uint8, this array is float32"));
    CHECK(contains(error_of([&] { (void)io::read_npy_images(dir.path / "y.npy"); }), "y.npy': images must be float32 or uint8, this array is int64"));
}

TEST_CASE("dataset: preprocessing by hand (scale, pad, channel repeat, mean/std)") {
    // One 2x2 image {0, 51, 102, 255}: scaled {0, 0.2, 0.4, 1}, padded to 4x4 (1 pixel each side),
    // repeated to 3 channels, then (x - mean_c) / std_c with per-channel values.
    io::preprocess p;
    p.pad_h = p.pad_w = 4;
    p.channels = 3;
    p.mean = {0.5f, 0.0f, 1.0f};
    p.stddev = {0.25f, 1.0f, 0.5f};
    const io::dataset d(io::raw_images{{1, 1, 2, 2}, {0, 51, 102, 255}, {}}, {3}, p, "'hand'");
    CHECK(d.sample_shape() == Shape{3, 4, 4});
    const Tensor t = d.batch(0, 1);
    REQUIRE(t.shape == Shape{1, 3, 4, 4});
    auto at = [&](int c, int y, int x) { return t.f[static_cast<std::size_t>((c * 4 + y) * 4 + x)]; };
    // Channel 0: (v - 0.5) / 0.25; padding (0 - 0.5) / 0.25 = -2.
    CHECK(at(0, 0, 0) == -2.0f);
    CHECK(at(0, 1, 1) == -2.0f);                                         // pixel 0
    CHECK(at(0, 1, 2) == doctest::Approx(-1.2));                         // pixel 51: (0.2 - 0.5) / 0.25
    CHECK(at(0, 2, 1) == doctest::Approx(-0.4));                         // pixel 102: (0.4 - 0.5) / 0.25
    CHECK(at(0, 2, 2) == 2.0f);                                          // pixel 255
    CHECK(at(0, 1, 2) == (51.0f / 255.0f - 0.5f) / 0.25f);               // exactly one float op each
    CHECK(at(0, 3, 3) == -2.0f);
    // Channel 1: the scaled values themselves; channel 2: (v - 1) / 0.5.
    CHECK(at(1, 1, 2) == 51.0f / 255.0f);
    CHECK(at(1, 0, 3) == 0.0f);
    CHECK(at(2, 2, 2) == 0.0f);
    CHECK(at(2, 0, 0) == -2.0f);
    CHECK(at(2, 2, 1) == doctest::Approx(-1.2));

    // Odd padding: (5 - 2) / 2 = 1 row on top, 2 below; 1 column left, 2 right (torchvision's rule).
    io::preprocess odd;
    odd.pad_h = odd.pad_w = 5;
    odd.scale = 1.0f;
    const Tensor o = io::dataset(io::raw_images{{1, 1, 2, 2}, {1, 2, 3, 4}, {}}, {}, odd, "'odd'").batch(0, 1);
    const std::vector<float> expect{0, 0, 0, 0, 0, //
                                    0, 1, 2, 0, 0, //
                                    0, 3, 4, 0, 0, //
                                    0, 0, 0, 0, 0, //
                                    0, 0, 0, 0, 0};
    CHECK(o.f == expect);

    // One mean/std value applies to every channel; an explicit scale replaces the default 1/255.
    io::preprocess one;
    one.channels = 2;
    one.scale = 2.0f;
    one.mean = {1.0f};
    one.stddev = {0.5f};
    CHECK(io::dataset(io::raw_images{{1, 1, 1, 1}, {5}, {}}, {}, one, "'one'").batch(0, 1).f == std::vector<float>{3.0f, 3.0f});
}

TEST_CASE("dataset: inconsistent data and preprocessing are refused with the dataset's name") {
    auto err = [](io::raw_images r, std::vector<std::int64_t> l, io::preprocess p) {
        return error_of([&] { io::dataset d(std::move(r), std::move(l), std::move(p), "'d'"); });
    };
    const io::raw_images img{{2, 1, 3, 3}, std::vector<std::uint8_t>(18, 1), {}};
    io::preprocess small;
    small.pad_h = small.pad_w = 2;
    CHECK(err(img, {}, small) == "'d': cannot pad 3x3 images to the smaller 2x2 (resize instead)");
    io::preprocess three;
    three.channels = 3;
    CHECK(err(io::raw_images{{1, 2, 1, 1}, {1, 2}, {}}, {}, three) == "'d': cannot make 3 channels from 2 (only 1 channel is repeated)");
    io::preprocess means;
    means.mean = {0.1f, 0.2f};
    CHECK(err(img, {}, means) == "'d': mean has 2 values for 1 channels");
    io::preprocess zero;
    zero.stddev = {0.0f};
    CHECK(contains(err(img, {}, zero), "std non-zero"));
    CHECK(err(img, {1}, {}) == "'d': 1 labels for 2 images");
    CHECK(err(img, {1, -1}, {}) == "'d': label 1 is negative (-1)");
    CHECK(err(io::raw_images{{2, 1, 3, 3}, std::vector<std::uint8_t>(17, 1), {}}, {}, {}) == "'d': 17 values do not fill the shape [2,1,3,3]");
    CHECK(err(io::raw_images{{2, 3, 3}, {}, {}}, {}, {}) == "'d': images must be [N, C, H, W], got [2,3,3]");
    // Preprocessing that fits is accepted; resize then pad.
    io::preprocess ok;
    ok.resize_h = 4;
    ok.resize_w = 6;
    ok.pad_h = ok.pad_w = 8;
    CHECK(err(img, {}, ok) == "no error");
}

TEST_CASE("dataset: bilinear resize equals PyTorch's F.interpolate(align_corners=False)") {
    // x[i][j] = ((5 i + j) * 7 % 11) / 10 as float32, shape [1, 1, 3, 5]; expected values printed by
    // torch 1.13 (F.interpolate(x, size, mode="bilinear", align_corners=False)) as hex floats.
    std::vector<float> x;
    for (int i = 0; i < 3; ++i)
        for (int j = 0; j < 5; ++j) x.push_back(static_cast<float>((i * 5 + j) * 7 % 11) / 10.0f);
    const Tensor in = Tensor::floats({1, 1, 3, 5}, x);
    const std::vector<float> up{0x1.666666p-4f, 0x1.19999ap-1f, 0x1.79999ap-1f, 0x1.4ccccep-1f, 0x1.db6db6p-4f, 0x1.283a84p-1f, 0x1.55f15ep-1f,
                                0x1.515f16p-1f, 0x1.9d41d4p-3f, 0x1.541d42p-1f, 0x1.d5f15ep-2f, 0x1.5f15f2p-1f, 0x1.266666p-2f, 0x1.8p-1f,
                                0x1p-2f,        0x1.6ccccep-1f, 0x1.41d41ep-2f, 0x1.15075p-1f,  0x1.57c57cp-2f, 0x1.98af8cp-1f, 0x1.5d41d4p-2f,
                                0x1.541d4p-2f,  0x1.af8af8p-2f, 0x1.c4924ap-1f, 0x1.666666p-2f, 0x1.0cccccp-2f, 0x1.cccccep-2f, 0x1.d33332p-1f};
    const Tensor r = io::resize_bilinear(in, 7, 4);
    CHECK(r.shape == Shape{1, 1, 7, 4});
    CHECK(r.f == up); // bit for bit
    const std::vector<float> down{0x1.22222p-2f, 0x1.666668p-2f, 0x1.622222p-1f, 0x1.3bbbbcp-2f, 0x1.4cccccp-1f, 0x1.6eeeeep-1f};
    CHECK(io::resize_bilinear(in, 2, 3).f == down);
    // Same size is a copy; every plane of a batch is resized alike.
    CHECK(io::resize_bilinear(in, 3, 5).f == x);
    std::vector<float> xx = x;
    xx.insert(xx.end(), x.begin(), x.end());
    const Tensor two = Tensor::floats({2, 1, 3, 5}, xx);
    const Tensor r2 = io::resize_bilinear(two, 7, 4);
    CHECK(std::vector<float>(r2.f.begin() + 28, r2.f.end()) == up);
    CHECK_THROWS_AS((void)io::resize_bilinear(in, 0, 4), surgery::error);

    // Through a dataset: uint8 pixels scaled, then resized (the order of the training script).
    io::preprocess p;
    p.scale = 10.0f;
    p.resize_h = 7;
    p.resize_w = 4;
    std::vector<std::uint8_t> u;
    for (int i = 0; i < 3; ++i)
        for (int j = 0; j < 5; ++j) u.push_back(static_cast<std::uint8_t>((i * 5 + j) * 7 % 11));
    CHECK(io::dataset(io::raw_images{{1, 1, 3, 5}, u, {}}, {}, p, "'r'").batch(0, 1).f == up);
}

TEST_CASE("dataset: spec strings") {
    io::dataset_spec s = io::parse_dataset_spec("fmnist:/data/fm?split=train&limit=2000&pad=32&channels=3&mean=0.2860&std=0.3530");
    CHECK(s.kind == "fmnist");
    CHECK(s.path == fs::path("/data/fm"));
    CHECK(s.split == "train");
    CHECK(s.limit == 2000);
    CHECK(s.prep.pad_h == 32);
    CHECK(s.prep.pad_w == 32);
    CHECK(s.prep.channels == 3);
    CHECK(s.prep.mean == std::vector<float>{0.2860f});
    CHECK(s.prep.stddev == std::vector<float>{0.3530f});
    // The float is the double rounded once, as torch.tensor([0.2860]) does.
    CHECK(s.prep.mean[0] == static_cast<float>(0.2860));
    CHECK(io::to_string(s.prep) == "pad=32&channels=3&mean=0.286&std=0.353");

    s = io::parse_dataset_spec("fmnist:");
    CHECK(s.path == io::fashion_mnist_dir);
    CHECK(s.split == "test");
    CHECK(s.limit == -1);
    CHECK(s.prep == io::preprocess{});

    s = io::parse_dataset_spec("npy:x.npy?labels=y.npy&size=24x32&scale=1&mean=0.5,0.4,0.3&std=0.2,0.2,0.25");
    CHECK(s.kind == "npy");
    CHECK(s.labels == fs::path("y.npy"));
    CHECK(s.prep.resize_h == 24);
    CHECK(s.prep.resize_w == 32);
    CHECK(s.prep.scale == 1.0f);
    CHECK(s.prep.mean.size() == 3);
    CHECK(io::parse_dataset_spec("x.npy").kind == "npy");
    CHECK(io::parse_dataset_spec("data/t10k-images-idx3-ubyte").kind == "idx");
    CHECK(io::parse_dataset_spec("images:dir?size=32").kind == "images");
    // A colon that is not a known kind belongs to the path.
    CHECK(io::parse_dataset_spec("odd:name.npy").path == fs::path("odd:name.npy"));
    // to_string round-trips through the parser.
    io::preprocess p;
    p.resize_h = 20;
    p.resize_w = 22;
    p.pad_h = p.pad_w = 32;
    p.scale = 127.5f;
    p.mean = {0.1f, 0.2f, 0.3f};
    p.stddev = {0.7f};
    CHECK(io::parse_dataset_spec("npy:a.npy?" + io::to_string(p)).prep == p);

    auto err = [](std::string_view spec) { return error_of([&] { (void)io::parse_dataset_spec(spec); }); };
    CHECK(err("fmnist:?sze=32") == "dataset spec 'fmnist:?sze=32': unknown option 'sze' (options: labels, split, limit, scale, size, pad, channels, mean, std)");
    CHECK(err("fmnist:?pad=32x") == "dataset spec 'fmnist:?pad=32x': pad=32x: expected a size H or HxW (1 to 2^20)");
    CHECK(err("fmnist:?size=0") == "dataset spec 'fmnist:?size=0': size=0: expected a size H or HxW (1 to 2^20)");
    CHECK(err("fmnist:?channels=x") == "dataset spec 'fmnist:?channels=x': channels=x: expected an integer >= 1");
    CHECK(err("fmnist:?mean=0.1,,0.2") == "dataset spec 'fmnist:?mean=0.1,,0.2': mean=: expected a number");
    CHECK(err("fmnist:?std=0") == "dataset spec 'fmnist:?std=0': std must not be 0");
    CHECK(err("fmnist:?split=val") == "dataset spec 'fmnist:?split=val': split=val: expected test or train");
    CHECK(err("fmnist:?channels") == "dataset spec 'fmnist:?channels': option 'channels' has no '=' (options are key=value)");
    CHECK(err("idx:a?split=train") == "dataset spec 'idx:a?split=train': split= applies to fmnist: only");
    CHECK(err("fmnist:?labels=l") == "dataset spec 'fmnist:?labels=l': labels= does not apply to fmnist: (labels come with the data)");
    CHECK(err("npy:?limit=1") == "dataset spec 'npy:?limit=1': no path after 'npy:'");
    CHECK(err("?limit=1") == "dataset spec '?limit=1': no path (kinds: fmnist:, idx:, npy:, images:)");
    CHECK(err("fmnist:?limit=-1") == "dataset spec 'fmnist:?limit=-1': limit=-1: expected an integer >= 0");
    CHECK(err("fmnist:?scale=1e99") == "dataset spec 'fmnist:?scale=1e99': scale=1e99: expected a number");
    CHECK(contains(error_of([] { (void)io::open_dataset("images:/nonexistent-folder"); }), "reading images needs a decoder"));
}

TEST_CASE("dataset: top-1 hits") {
    const Tensor logits = Tensor::floats({3, 3}, {0.1f, 0.9f, 0.0f, /**/ 2.0f, 2.0f, 1.0f, /**/ -1.0f, -3.0f, -0.5f});
    CHECK(io::top1_hits(logits, {1, 0, 2}, 0) == 3); // ties go to the first index, like torch.argmax
    CHECK(io::top1_hits(logits, {9, 9, 1, 0, 0}, 2) == 2); // rows 0..2 against labels 2..4
    CHECK_THROWS_AS((void)io::top1_hits(logits, {1, 0}, 0), surgery::error);
}

#if SURGERY_WITH_STB
namespace {
std::string pgm(int w, int h, std::vector<std::uint8_t> px) { return "P5\n" + std::to_string(w) + " " + std::to_string(h) + "\n255\n" + std::string(px.begin(), px.end()); }
std::string ppm(int w, int h, std::vector<std::uint8_t> rgb) { return "P6\n" + std::to_string(w) + " " + std::to_string(h) + "\n255\n" + std::string(rgb.begin(), rgb.end()); }
} // namespace

TEST_CASE("dataset: image folders with io::decode_image (stb_image)") {
    temp_dir dir;
    const io::codecs codecs{.gunzip = {}, .decode_image = io::decode_image};
    // classes "b" and "a": numbered in sorted order; files sorted by folder, then name.
    write(dir.path / "b" / "2.pgm", pgm(2, 1, {10, 20}));
    write(dir.path / "b" / "1.pgm", pgm(2, 1, {30, 40}));
    write(dir.path / "a" / "z.pgm", pgm(2, 1, {50, 60}));
    write(dir.path / "a" / "sub" / "y.pgm", pgm(2, 1, {70, 80}));
    write(dir.path / "a" / "notes.txt", "not an image");
    const io::dataset d = io::open_dataset("images:" + dir.path.string() + "?scale=1", codecs);
    CHECK(d.size() == 4);
    CHECK(d.labels() == std::vector<std::int64_t>{0, 0, 1, 1});
    CHECK(d.batch(0, 4).f == std::vector<float>{50, 60, 70, 80, 30, 40, 10, 20});

    // Colour images become 3 planes; a different size names both files.
    write(dir.path / "c" / "rgb.ppm", ppm(1, 2, {1, 2, 3, 4, 5, 6}));
    const io::raw_images rgb = io::decode_image(io::read_file(dir.path / "c" / "rgb.ppm"), "'rgb'");
    CHECK(rgb.shape == Shape{1, 3, 2, 1});
    CHECK(rgb.u8 == std::vector<std::uint8_t>{1, 4, 2, 5, 3, 6});
    write(dir.path / "d" / "a.pgm", pgm(2, 1, {1, 2}));
    write(dir.path / "d" / "b.pgm", pgm(1, 2, {1, 2}));
    const std::string e = error_of([&] { (void)io::open_image_folder(dir.path / "d", {}, codecs); });
    CHECK(contains(e, "b.pgm': is [1,2,1] (CxHxW) but the first image '"));
    CHECK(contains(e, "a.pgm' is [1,1,2]; every image must have the same size"));
    write(dir.path / "e" / "broken.png", "\x89PNG\r\n\x1a\n garbage");
    CHECK(contains(error_of([&] { (void)io::open_image_folder(dir.path / "e", {}, codecs); }), "broken.png': cannot decode the image (stb_image:"));
    fs::create_directories(dir.path / "empty");
    CHECK(contains(error_of([&] { (void)io::open_image_folder(dir.path / "empty", {}, codecs); }), "no image files"));
}
#endif

TEST_CASE("dataset: the real Fashion-MNIST test set (Debian's dataset-fashion-mnist), when installed") {
#if SURGERY_WITH_ZLIB
    if (!fs::exists(fmnist_test_images)) {
        MESSAGE("skipped: " << fmnist_test_images << " not found (scripts/deps.sh data installs it)");
        return;
    }
    const io::codecs codecs{.gunzip = io::gunzip, .decode_image = {}};
    // The preprocessing of tests/models/fmnist_common.py (its dataset_spec()).
    const io::dataset d = io::open_dataset("fmnist:/usr/share/datasets/fashion-mnist?split=test&pad=32&channels=3&mean=0.2860&std=0.3530", codecs);
    REQUIRE(d.size() == 10000);
    CHECK(d.sample_shape() == Shape{3, 32, 32});
    std::array<int, 10> histogram{};
    for (std::int64_t l : d.labels()) {
        REQUIRE(l >= 0);
        REQUIRE(l < 10);
        ++histogram[static_cast<std::size_t>(l)];
    }
    for (int count : histogram) CHECK(count == 1000);
    CHECK(std::vector<std::int64_t>(d.labels().begin(), d.labels().begin() + 10) == std::vector<std::int64_t>{9, 2, 1, 1, 6, 1, 4, 6, 5, 7});

    // Values of fmnist_common.preprocess(test image 0) printed by torch 1.13, bit for bit.
    const Tensor t = d.batch(0, 1);
    auto at = [&](int c, int y, int x) { return t.f[static_cast<std::size_t>((c * 32 + y) * 32 + x)]; };
    CHECK(at(0, 0, 0) == -0x1.9ed252p-1f); // padding: (0 - 0.2860) / 0.3530
    CHECK(at(2, 31, 31) == -0x1.9ed252p-1f);
    CHECK(at(1, 10, 15) == -0x1.992236p-1f); // pixel value 1
    CHECK(at(2, 20, 9) == 0x1.d3351cp-2f);   // pixel value 114
    CHECK(at(0, 16, 16) == 0x1.a5b434p-2f);  // pixel value 110
    double sum = 0;
    for (float v : t.f) sum += v;
    CHECK(sum == doctest::Approx(-1373.9151447191834).epsilon(1e-12));

    // Bilinear resize of test image 0 (1 channel, scaled) against torch: 28 -> 20 and 28 -> 40x36.
    const io::dataset r20 = io::open_dataset("fmnist:?size=20", codecs);
    const Tensor a = r20.batch(0, 1);
    double s20 = 0;
    for (float v : a.f) s20 += v;
    CHECK(s20 == doctest::Approx(68.32549368726461).epsilon(1e-12));
    CHECK(a.f[10 * 20 + 10] == 0x1.bad992p-2f);
    CHECK(a.f[5 * 20 + 13] == 0x1.24fcp-7f);
    const io::dataset r40 = io::open_dataset("fmnist:?size=40x36", codecs);
    const Tensor b = r40.batch(0, 1);
    double s40 = 0;
    for (float v : b.f) s40 += v;
    CHECK(s40 == doctest::Approx(241.06488911998645).epsilon(1e-12));
    CHECK(b.f[20 * 36 + 20] == 0x1.acda5cp-2f);

    const io::dataset train = io::open_dataset("fmnist:?split=train&limit=2000", codecs);
    CHECK(train.size() == 2000);

    // With the training script's output folder, all 64 reference inputs must be equal bit for bit.
    if (const char* out = std::getenv("SURGERY_FMNIST_OUT")) {
        const fs::path ref = fs::path(out) / "test_head_input.npy";
        if (fs::exists(ref)) {
            const Tensor expect = io::read_npy(ref);
            const Tensor got = d.batch(0, expect.shape[0]);
            CHECK(got.shape == expect.shape);
            CHECK(got.f == expect.f);
            MESSAGE("compared with " << ref);
        }
    }
#else
    MESSAGE("skipped: built without zlib (the Debian files are gzipped)");
#endif
}
