#include "artifact_test_util.hpp"

#include <wisp/artifact/image.hpp>

#include <boost/json.hpp>
#include <doctest/doctest.h>

using namespace wisp;
using namespace wisp::artifact;
namespace fs = std::filesystem;
namespace json = boost::json;

namespace {

json::object blob_json(const fs::path& layout, const Digest& digest) {
  return json::parse(test::bytes_of(blob_path(layout, digest))).as_object();
}

} // namespace

TEST_CASE("an OCI layout: code at /var/task, config, manifest, index; deterministic") {
  support::TempDir dir("wisp-oci");
  test::write(dir.path() / "code/app.py", "def handler(e, c):\n    return 1\n");
  test::write(dir.path() / "code/bin/run", "#!/bin/sh\n", 0755);
  test::write(dir.path() / "layer/python/lib.py", "x = 1\n");
  ImageConfig config;
  config.cmd = {"app.handler"};
  config.working_dir = "/var/task";
  config.env = {"LAMBDA_TASK_ROOT=/var/task"};
  ImageOptions options;
  options.tag = "hello";
  options.annotations = {{"org.opencontainers.image.title", "Hello"}};
  const std::vector<LayerSource> layers = {{dir.path() / "layer", "opt", "layer Libs"},
                                           {dir.path() / "code", "var/task", "function code"}};
  auto first = write_image(dir.path() / "one", layers, config, options);
  REQUIRE_MESSAGE(first, first.error().message);
  auto second = write_image(dir.path() / "two", layers, config, options);
  REQUIRE(second);
  CHECK(first->manifest.digest == second->manifest.digest);
  CHECK(first->layers.size() == 2);
  CHECK(test::bytes_of(blob_path(dir.path() / "one", first->layers[1].digest)) ==
        test::bytes_of(blob_path(dir.path() / "two", second->layers[1].digest)));

  const auto layout = dir.path() / "one";
  CHECK(test::bytes_of(layout / "oci-layout") == "{\"imageLayoutVersion\":\"1.0.0\"}\n");
  const auto index = json::parse(test::bytes_of(layout / "index.json")).as_object();
  REQUIRE(index.at("manifests").as_array().size() == 1);
  const auto& entry = index.at("manifests").as_array()[0].as_object();
  CHECK(entry.at("digest").as_string() == first->manifest.digest.oci());
  CHECK(entry.at("annotations").at("org.opencontainers.image.ref.name").as_string() == "hello");

  const auto manifest = blob_json(layout, first->manifest.digest);
  CHECK(manifest.at("mediaType").as_string() == k_oci_manifest_type);
  CHECK(manifest.at("annotations").at("org.opencontainers.image.title").as_string() == "Hello");
  CHECK(manifest.at("layers").as_array()[1].at("mediaType").as_string() == k_oci_layer_gzip_type);
  const auto image_config = blob_json(layout, first->config.digest);
  CHECK(image_config.at("architecture").as_string() == "amd64");
  CHECK(image_config.at("os").as_string() == "linux");
  CHECK(image_config.at("created").as_string() == "1980-01-01T00:00:00Z");
  CHECK(image_config.at("config").at("Cmd").as_array()[0].as_string() == "app.handler");
  CHECK(image_config.at("config").at("WorkingDir").as_string() == "/var/task");
  CHECK(image_config.at("rootfs").at("diff_ids").as_array().size() == 2);

  // The gzip header carries no name and no time.
  const auto gz = test::bytes_of(blob_path(layout, first->layers[1].digest));
  REQUIRE(gz.size() > 10);
  CHECK(static_cast<unsigned char>(gz[0]) == 0x1f);
  CHECK(static_cast<unsigned char>(gz[1]) == 0x8b);
  CHECK(gz[3] == 0);                              // flags: no name, no comment
  CHECK(gz.substr(4, 4) == std::string(4, '\0')); // mtime 0

  // A second tag in the same layout keeps the first.
  options.tag = "other";
  REQUIRE(write_image(layout, layers, config, options));
  const auto index2 = json::parse(test::bytes_of(layout / "index.json")).as_object();
  CHECK(index2.at("manifests").as_array().size() == 2);
  auto read_back = read_layout_image(layout, "hello");
  REQUIRE(read_back);
  CHECK(read_back->manifest.digest == first->manifest.digest);
  CHECK(read_back->layers.size() == 2);
}

TEST_CASE("a base image from an OCI layout: layers reused, config merged") {
  support::TempDir dir("wisp-oci-base");
  test::write(dir.path() / "base-root/usr/bin/python3", "#!/fake\n", 0755);
  ImageConfig base_config;
  base_config.entrypoint = {"/lambda-entrypoint.sh"};
  base_config.env = {"PATH=/usr/bin", "LANG=C"};
  base_config.working_dir = "/var/task";
  ImageOptions base_options;
  base_options.tag = "3.12";
  auto base = write_image(dir.path() / "base", {{dir.path() / "base-root", "", "base"}},
                          base_config, base_options);
  REQUIRE(base);

  test::write(dir.path() / "code/app.py", "x\n");
  ImageConfig config;
  config.cmd = {"app.handler"};
  config.env = {"LANG=C.UTF-8"};
  ImageOptions options;
  options.base = "oci:" + (dir.path() / "base").string() + ":3.12";
  auto image =
      write_image(dir.path() / "out", {{dir.path() / "code", "var/task", "code"}}, config, options);
  REQUIRE_MESSAGE(image, image.error().message);
  CHECK(image->base_has_entrypoint);
  REQUIRE(image->layers.size() == 2);
  CHECK(image->layers[0].digest == base->layers[0].digest);
  const auto cfg = blob_json(dir.path() / "out", image->config.digest);
  CHECK(cfg.at("config").at("Entrypoint").as_array()[0].as_string() == "/lambda-entrypoint.sh");
  const auto& env = cfg.at("config").at("Env").as_array();
  REQUIRE(env.size() == 2);
  CHECK(env[0].as_string() == "PATH=/usr/bin");
  CHECK(env[1].as_string() == "LANG=C.UTF-8");
  CHECK(cfg.at("history").as_array().size() == 2);

  options.base = (dir.path() / "base").string() + ":nope";
  auto missing = write_image(dir.path() / "out2", {}, config, options);
  REQUIRE_FALSE(missing);
  CHECK(missing.error().message ==
        (dir.path() / "base").string() + " has no image tagged 'nope' (tags: 3.12)");
}

TEST_CASE("a layout tar is deterministic") {
  support::TempDir dir("wisp-oci-tar");
  test::write(dir.path() / "code/app.py", "x\n");
  REQUIRE(write_image(dir.path() / "layout", {{dir.path() / "code", "var/task", "code"}}, {}, {}));
  REQUIRE(write_layout_tar(dir.path() / "layout", dir.path() / "a.tar"));
  test::set_mtime(dir.path() / "layout/index.json", 12345);
  REQUIRE(write_layout_tar(dir.path() / "layout", dir.path() / "b.tar"));
  CHECK(test::bytes_of(dir.path() / "a.tar") == test::bytes_of(dir.path() / "b.tar"));
}
