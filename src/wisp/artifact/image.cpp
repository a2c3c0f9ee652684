#include <wisp/artifact/image.hpp>

#include <wisp/artifact/libarchive.hpp>

#include <wisp/artifact/tree.hpp>
#include <wisp/artifact/zip.hpp>
#include <wisp/support/fs.hpp>
#include <wisp/support/hash.hpp>

#include <boost/json.hpp>
#include <fmt/format.h>
#include <zlib.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <fcntl.h>
#include <memory>
#include <set>
#include <unistd.h>

namespace wisp::artifact {

namespace fs = std::filesystem;
namespace json = boost::json;

namespace {

constexpr std::string_view k_ref_name = "org.opencontainers.image.ref.name";

std::string rfc3339(std::int64_t seconds) {
  const auto t = static_cast<std::time_t>(seconds);
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z", tm.tm_year + 1900, tm.tm_mon + 1,
                     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

std::int64_t resolve_time(const std::optional<std::int64_t>& timestamp) {
  ZipOptions options;
  options.timestamp = timestamp;
  return resolve_timestamp(options);
}

// Sink for libarchive: the tar bytes, hashed (diff id), then gzip-compressed (or not)
// into an AtomicFile, hashed again (blob digest).
class TarSink {
public:
  TarSink(support::AtomicFile& file, bool gzip) : m_file(file), m_gzip(gzip) {
    if (m_gzip) {
      // windowBits 15 + 16: a gzip wrapper whose header zlib writes with no name, mtime 0
      // and OS "unix": the same on every machine.
      deflateInit2(&m_z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
    }
  }
  ~TarSink() {
    if (m_gzip)
      deflateEnd(&m_z);
  }
  TarSink(const TarSink&) = delete;
  TarSink& operator=(const TarSink&) = delete;

  bool write(const void* data, std::size_t size) {
    m_tar_sha.update(data, size);
    m_tar_size += size;
    if (!m_gzip)
      return emit(static_cast<const char*>(data), size);
    m_z.next_in = static_cast<Bytef*>(const_cast<void*>(data));
    m_z.avail_in = static_cast<uInt>(size);
    return pump(Z_NO_FLUSH);
  }

  bool finish() { return !m_gzip || pump(Z_FINISH); }

  Digest tar_digest() { return make_digest(m_tar_sha.finish(), m_tar_size); }
  Digest blob_digest() { return make_digest(m_blob_sha.finish(), m_blob_size); }
  [[nodiscard]] const std::optional<support::Error>& error() const { return m_error; }

private:
  bool pump(int flush) {
    char out[65536];
    int rc = Z_OK;
    do {
      m_z.next_out = reinterpret_cast<Bytef*>(out);
      m_z.avail_out = sizeof out;
      rc = deflate(&m_z, flush);
      if (rc == Z_STREAM_ERROR)
        return false;
      if (!emit(out, sizeof out - m_z.avail_out))
        return false;
    } while (m_z.avail_out == 0 || (flush == Z_FINISH && rc != Z_STREAM_END));
    return true;
  }

  bool emit(const char* data, std::size_t size) {
    if (size == 0)
      return true;
    if (auto written = m_file.write(std::string_view(data, size)); !written) {
      m_error = written.error();
      return false;
    }
    m_blob_sha.update(data, size);
    m_blob_size += size;
    return true;
  }

  support::AtomicFile& m_file;
  bool m_gzip;
  z_stream m_z{};
  support::Sha256 m_tar_sha;
  support::Sha256 m_blob_sha;
  std::uint64_t m_tar_size = 0;
  std::uint64_t m_blob_size = 0;
  std::optional<support::Error> m_error;
};

la_ssize_t sink_write(archive*, void* context, const void* data, std::size_t size) {
  return static_cast<TarSink*>(context)->write(data, size) ? static_cast<la_ssize_t>(size) : -1;
}

struct TarEntry {
  std::string name; // no trailing slash
  bool is_dir = false;
  fs::path source;
  std::uint64_t size = 0;
  bool executable = false;
};

// Writes `entries` (sorted here) as a deterministic pax tar into `sink`.
support::Status write_tar(std::vector<TarEntry> entries, TarSink& sink, std::int64_t mtime) {
  std::sort(entries.begin(), entries.end(),
            [](const TarEntry& a, const TarEntry& b) { return a.name < b.name; });
  std::unique_ptr<archive, int (*)(archive*)> a(la::api().archive_write_new(),
                                                la::api().archive_write_free);
  la::api().archive_write_set_format_pax_restricted(a.get());
  la::api().archive_write_set_bytes_per_block(a.get(), 10240);
  if (la::api().archive_write_open2(a.get(), &sink, nullptr, sink_write, nullptr, nullptr) !=
      ARCHIVE_OK)
    return support::failf("cannot write a tar: {}", la::api().archive_error_string(a.get()));
  std::unique_ptr<archive_entry, void (*)(archive_entry*)> entry(la::api().archive_entry_new(),
                                                                 la::api().archive_entry_free);
  std::vector<char> buffer(1u << 20u);
  for (const auto& item : entries) {
    la::api().archive_entry_clear(entry.get());
    la::api().archive_entry_set_pathname_utf8(entry.get(), item.is_dir ? (item.name + "/").c_str()
                                                                       : item.name.c_str());
    la::api().archive_entry_set_filetype(entry.get(), item.is_dir ? AE_IFDIR : AE_IFREG);
    la::api().archive_entry_set_perm(entry.get(), item.is_dir || item.executable ? 0755 : 0644);
    la::api().archive_entry_set_uid(entry.get(), 0);
    la::api().archive_entry_set_gid(entry.get(), 0);
    la::api().archive_entry_set_mtime(entry.get(), static_cast<time_t>(mtime), 0);
    la::api().archive_entry_set_size(entry.get(),
                                     item.is_dir ? 0 : static_cast<la_int64_t>(item.size));
    if (la::api().archive_write_header(a.get(), entry.get()) != ARCHIVE_OK)
      return support::failf("cannot write tar entry {}: {}", item.name,
                            la::api().archive_error_string(a.get()));
    if (item.is_dir)
      continue;
    const int fd = ::open(item.source.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0)
      return support::failf("cannot read {}: {}", item.source.string(), std::strerror(errno));
    std::uint64_t done = 0;
    while (done < item.size) {
      const auto n = ::read(
          fd, buffer.data(),
          static_cast<std::size_t>(std::min<std::uint64_t>(buffer.size(), item.size - done)));
      if (n <= 0) {
        ::close(fd);
        return support::failf("{} changed while it was being archived", item.source.string());
      }
      if (la::api().archive_write_data(a.get(), buffer.data(), static_cast<std::size_t>(n)) < 0) {
        ::close(fd);
        if (sink.error())
          return tl::unexpected(*sink.error());
        return support::failf("cannot write tar entry {}: {}", item.name,
                              la::api().archive_error_string(a.get()));
      }
      done += static_cast<std::uint64_t>(n);
    }
    ::close(fd);
  }
  if (la::api().archive_write_close(a.get()) != ARCHIVE_OK) {
    if (sink.error())
      return tl::unexpected(*sink.error());
    return support::failf("cannot write a tar: {}", la::api().archive_error_string(a.get()));
  }
  if (!sink.finish())
    return sink.error() ? tl::unexpected(*sink.error()) : support::fail("gzip failed");
  return {};
}

std::vector<TarEntry> entries_under(const std::vector<TreeFile>& files, const std::string& prefix) {
  std::vector<TarEntry> entries;
  std::set<std::string> dirs;
  const auto add_parents = [&](const std::string& name) {
    for (auto slash = name.find('/'); slash != std::string::npos; slash = name.find('/', slash + 1))
      dirs.insert(name.substr(0, slash));
  };
  std::string base = prefix;
  while (!base.empty() && base.back() == '/')
    base.pop_back();
  while (!base.empty() && base.front() == '/')
    base.erase(0, 1);
  if (!base.empty()) {
    add_parents(base + "/");
  }
  for (const auto& file : files) {
    const auto name = base.empty() ? file.name : base + "/" + file.name;
    add_parents(name);
    entries.push_back(TarEntry{name, false, file.source, file.size, file.executable});
  }
  for (const auto& dir : dirs)
    entries.push_back(TarEntry{dir, true, {}, 0, false});
  return entries;
}

support::Result<Digest> write_blob(const fs::path& layout, std::string_view bytes) {
  auto digest = digest_bytes(bytes);
  const auto path = blob_path(layout, digest);
  std::error_code ec;
  if (!fs::exists(path, ec))
    WISP_TRY(support::write_file_atomic(path, bytes));
  return digest;
}

json::object descriptor(const BlobRef& blob) {
  json::object o;
  o["mediaType"] = blob.media_type;
  o["digest"] = blob.digest.oci();
  o["size"] = blob.digest.size;
  return o;
}

support::Result<json::value> read_json(const fs::path& path) {
  WISP_TRY_ASSIGN(auto text, support::read_file(path, 64u * 1024 * 1024));
  boost::system::error_code ec;
  auto value = json::parse(text, ec);
  if (ec)
    return support::failf("{} is not valid JSON: {}", path.string(), ec.message());
  return value;
}

std::optional<Digest> parse_digest(std::string_view text, std::uint64_t size) {
  if (!text.starts_with("sha256:") || text.size() != 71)
    return std::nullopt;
  Digest d;
  d.hex = std::string(text.substr(7));
  if (!std::all_of(d.hex.begin(), d.hex.end(),
                   [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }))
    return std::nullopt;
  d.size = size;
  std::string raw;
  for (std::size_t i = 0; i < d.hex.size(); i += 2)
    raw += static_cast<char>(std::stoi(d.hex.substr(i, 2), nullptr, 16));
  d.base64 = support::base64_encode(raw);
  return d;
}

std::string string_at(const json::object& o, std::string_view key) {
  if (const auto* v = o.if_contains(key); v != nullptr && v->is_string())
    return std::string(v->as_string());
  return {};
}

std::uint64_t size_at(const json::object& o) {
  if (const auto* v = o.if_contains("size"); v != nullptr && v->is_number())
    return v->to_number<std::uint64_t>();
  return 0;
}

// "oci:DIR:TAG" / "DIR:TAG" / "DIR" → (DIR, TAG).
std::pair<fs::path, std::string> split_layout_ref(std::string ref) {
  if (ref.starts_with("oci:"))
    ref.erase(0, 4);
  const auto colon = ref.rfind(':');
  if (colon != std::string::npos && ref.find('/', colon) == std::string::npos) {
    std::error_code ec;
    if (!fs::is_directory(ref, ec))
      return {ref.substr(0, colon), ref.substr(colon + 1)};
  }
  return {ref, ""};
}

} // namespace

std::string oci_architecture(std::string_view lambda_architecture) {
  if (lambda_architecture == "x86_64" || lambda_architecture.empty())
    return "amd64";
  return std::string(lambda_architecture);
}

fs::path blob_path(const fs::path& layout, const Digest& digest) {
  return layout / "blobs" / "sha256" / digest.hex;
}

support::Result<std::pair<BlobRef, Digest>>
write_layer(const fs::path& layout, const LayerSource& source, std::int64_t timestamp) {
  WISP_TRY_ASSIGN(auto files, collect_tree(source.dir, IgnoreRules::defaults()));
  static std::atomic<unsigned> counter{0};
  const auto incoming =
      layout / "blobs" / "sha256" / fmt::format(".incoming-{}-{}", ::getpid(), counter++);
  WISP_TRY_ASSIGN(auto file, support::AtomicFile::create(incoming));
  TarSink sink(file, true);
  WISP_TRY(write_tar(entries_under(files, source.prefix), sink, timestamp));
  WISP_TRY(file.commit());
  BlobRef blob{std::string(k_oci_layer_gzip_type), sink.blob_digest()};
  std::error_code ec;
  fs::rename(incoming, blob_path(layout, blob.digest), ec);
  if (ec)
    return support::failf("cannot store layer blob: {}", ec.message());
  return std::make_pair(blob, sink.tar_digest());
}

support::Result<LayoutImage> read_layout_image(const fs::path& layout, const std::string& tag) {
  WISP_TRY_ASSIGN(auto index_value, read_json(layout / "index.json"));
  if (!index_value.is_object() || !index_value.as_object().contains("manifests") ||
      !index_value.as_object().at("manifests").is_array())
    return support::failf("{} is not an OCI image layout (index.json has no manifests)",
                          layout.string());
  const auto& manifests = index_value.as_object().at("manifests").as_array();
  const json::object* chosen = nullptr;
  std::vector<std::string> tags;
  for (const auto& m : manifests) {
    if (!m.is_object())
      continue;
    const auto& o = m.as_object();
    std::string ref;
    if (const auto* ann = o.if_contains("annotations"); ann != nullptr && ann->is_object())
      ref = string_at(ann->as_object(), k_ref_name);
    if (!ref.empty())
      tags.push_back(ref);
    if ((tag.empty() && manifests.size() == 1) || (!tag.empty() && ref == tag))
      chosen = &o;
  }
  if (chosen == nullptr)
    return support::failf("{} has no image tagged '{}' (tags: {})", layout.string(),
                          tag.empty() ? std::string("(one image)") : tag,
                          tags.empty() ? std::string("none")
                                       : fmt::format("{}", fmt::join(tags, ", ")));
  auto digest = parse_digest(string_at(*chosen, "digest"), size_at(*chosen));
  if (!digest)
    return support::failf("{}: malformed manifest digest", layout.string());
  LayoutImage image;
  image.manifest = BlobRef{string_at(*chosen, "mediaType"), *digest};
  if (image.manifest.media_type == k_oci_index_type)
    return support::failf("{}: the image '{}' is a multi-platform index; give a layout with a "
                          "single-platform image",
                          layout.string(), tag);
  WISP_TRY_ASSIGN(image.manifest_json, support::read_file(blob_path(layout, *digest)));
  if (digest_bytes(image.manifest_json).hex != digest->hex)
    return support::failf("{}: manifest blob does not match its digest", layout.string());
  boost::system::error_code ec;
  auto manifest = json::parse(image.manifest_json, ec);
  if (ec || !manifest.is_object() || !manifest.as_object().contains("config"))
    return support::failf("{}: malformed manifest", layout.string());
  const auto& mo = manifest.as_object();
  const auto& config = mo.at("config");
  if (!config.is_object())
    return support::failf("{}: malformed manifest", layout.string());
  auto config_digest =
      parse_digest(string_at(config.as_object(), "digest"), size_at(config.as_object()));
  if (!config_digest)
    return support::failf("{}: malformed config digest", layout.string());
  WISP_TRY_ASSIGN(image.config_json, support::read_file(blob_path(layout, *config_digest)));
  image.config = BlobRef{string_at(config.as_object(), "mediaType"), *config_digest};
  if (image.config.media_type.empty())
    image.config.media_type = k_oci_config_type;
  if (const auto* layers = mo.if_contains("layers"); layers != nullptr && layers->is_array()) {
    for (const auto& l : layers->as_array()) {
      if (!l.is_object())
        return support::failf("{}: malformed layer descriptor", layout.string());
      auto d = parse_digest(string_at(l.as_object(), "digest"), size_at(l.as_object()));
      if (!d)
        return support::failf("{}: malformed layer digest", layout.string());
      image.layers.push_back(BlobRef{string_at(l.as_object(), "mediaType"), *d});
    }
  }
  return image;
}

support::Result<ImageResult> write_image(const fs::path& layout,
                                         const std::vector<LayerSource>& layers,
                                         const ImageConfig& config, const ImageOptions& options) {
  const auto timestamp = resolve_time(options.timestamp);
  std::error_code ec;
  fs::create_directories(layout / "blobs" / "sha256", ec);
  if (ec)
    return support::failf("cannot create {}: {}", layout.string(), ec.message());

  ImageResult result;
  result.layout = layout;
  result.tag = options.tag;

  // The base image: its layers are reused as they are (copied into this layout).
  json::object base_config;
  json::object base_runtime;
  json::array history;
  if (!options.base.empty()) {
    const auto [base_dir, base_tag] = split_layout_ref(options.base);
    WISP_TRY_ASSIGN(auto base, read_layout_image(base_dir, base_tag));
    boost::system::error_code jec;
    auto parsed = json::parse(base.config_json, jec);
    if (jec || !parsed.is_object())
      return support::failf("{}: the base image's config is not valid JSON", base_dir.string());
    base_config = parsed.as_object();
    if (const auto* c = base_config.if_contains("config"); c != nullptr && c->is_object())
      base_runtime = c->as_object();
    if (const auto* h = base_config.if_contains("history"); h != nullptr && h->is_array())
      history = h->as_array();
    std::vector<std::string> base_diff_ids;
    if (const auto* rootfs = base_config.if_contains("rootfs");
        rootfs != nullptr && rootfs->is_object()) {
      if (const auto* ids = rootfs->as_object().if_contains("diff_ids");
          ids != nullptr && ids->is_array())
        for (const auto& id : ids->as_array())
          if (id.is_string())
            base_diff_ids.emplace_back(id.as_string());
    }
    if (base_diff_ids.size() != base.layers.size())
      return support::failf("{}: the base image's config lists {} layers, its manifest {}",
                            base_dir.string(), base_diff_ids.size(), base.layers.size());
    for (std::size_t i = 0; i < base.layers.size(); ++i) {
      const auto& layer = base.layers[i];
      const auto from = blob_path(base_dir, layer.digest);
      const auto to = blob_path(layout, layer.digest);
      if (!fs::exists(to, ec)) {
        if (!fs::exists(from, ec))
          return support::failf("{}: layer blob {} is missing", base_dir.string(),
                                layer.digest.oci());
        fs::copy_file(from, to, ec);
        if (ec)
          return support::failf("cannot copy base layer {}: {}", layer.digest.oci(), ec.message());
      }
      result.layers.push_back(layer);
      result.diff_ids.push_back(base_diff_ids[i]);
    }
    if (const auto* ep = base_runtime.if_contains("Entrypoint");
        ep != nullptr && ep->is_array() && !ep->as_array().empty())
      result.base_has_entrypoint = true;
  }

  for (const auto& source : layers) {
    WISP_TRY_ASSIGN(auto written, write_layer(layout, source, timestamp));
    result.layers.push_back(written.first);
    result.diff_ids.push_back(written.second.oci());
    json::object entry;
    entry["created"] = rfc3339(timestamp);
    entry["created_by"] = "wisp: " + source.comment;
    history.push_back(std::move(entry));
  }

  // The runtime config: the base's, with ours on top.
  json::object runtime = base_runtime;
  const auto to_array = [](const std::vector<std::string>& items) {
    json::array a;
    for (const auto& s : items)
      a.emplace_back(s);
    return a;
  };
  if (!config.entrypoint.empty())
    runtime["Entrypoint"] = to_array(config.entrypoint);
  if (!config.cmd.empty())
    runtime["Cmd"] = to_array(config.cmd);
  if (!config.working_dir.empty())
    runtime["WorkingDir"] = config.working_dir;
  std::vector<std::string> env;
  if (const auto* e = runtime.if_contains("Env"); e != nullptr && e->is_array())
    for (const auto& item : e->as_array())
      if (item.is_string())
        env.emplace_back(item.as_string());
  for (const auto& item : config.env) {
    const auto key = item.substr(0, item.find('='));
    std::erase_if(env, [&](const std::string& existing) {
      return existing.substr(0, existing.find('=')) == key;
    });
    env.push_back(item);
  }
  if (!env.empty())
    runtime["Env"] = to_array(env);
  if (!config.labels.empty()) {
    json::object labels;
    if (const auto* l = runtime.if_contains("Labels"); l != nullptr && l->is_object())
      labels = l->as_object();
    for (const auto& [k, v] : config.labels)
      labels[k] = v;
    runtime["Labels"] = std::move(labels);
  }

  json::object image_config;
  image_config["created"] = rfc3339(timestamp);
  image_config["architecture"] = config.architecture;
  image_config["os"] = "linux";
  image_config["config"] = std::move(runtime);
  json::array diff_ids;
  for (const auto& id : result.diff_ids)
    diff_ids.emplace_back(id);
  image_config["rootfs"] = json::object{{"type", "layers"}, {"diff_ids", std::move(diff_ids)}};
  image_config["history"] = std::move(history);
  WISP_TRY_ASSIGN(auto config_digest, write_blob(layout, json::serialize(image_config)));
  result.config = BlobRef{std::string(k_oci_config_type), config_digest};

  json::object manifest;
  manifest["schemaVersion"] = 2;
  manifest["mediaType"] = k_oci_manifest_type;
  manifest["config"] = descriptor(result.config);
  json::array layer_descriptors;
  for (const auto& layer : result.layers)
    layer_descriptors.push_back(descriptor(layer));
  manifest["layers"] = std::move(layer_descriptors);
  if (!options.annotations.empty()) {
    json::object annotations;
    for (const auto& [k, v] : options.annotations)
      annotations[k] = v;
    manifest["annotations"] = std::move(annotations);
  }
  WISP_TRY_ASSIGN(auto manifest_digest, write_blob(layout, json::serialize(manifest)));
  result.manifest = BlobRef{std::string(k_oci_manifest_type), manifest_digest};

  // index.json: this tag now names the new manifest; other tags stay.
  json::array entries;
  if (fs::exists(layout / "index.json", ec)) {
    WISP_TRY_ASSIGN(auto existing, read_json(layout / "index.json"));
    if (existing.is_object())
      if (const auto* m = existing.as_object().if_contains("manifests");
          m != nullptr && m->is_array())
        for (const auto& item : m->as_array()) {
          if (!item.is_object())
            continue;
          std::string ref;
          if (const auto* ann = item.as_object().if_contains("annotations");
              ann != nullptr && ann->is_object())
            ref = string_at(ann->as_object(), k_ref_name);
          if (ref != options.tag)
            entries.push_back(item);
        }
  }
  auto entry = descriptor(result.manifest);
  entry["annotations"] = json::object{{std::string(k_ref_name), options.tag}};
  entries.push_back(std::move(entry));
  json::object index;
  index["schemaVersion"] = 2;
  index["mediaType"] = k_oci_index_type;
  index["manifests"] = std::move(entries);
  WISP_TRY(support::write_file_atomic(layout / "index.json", json::serialize(index) + "\n"));
  WISP_TRY(
      support::write_file_atomic(layout / "oci-layout", "{\"imageLayoutVersion\":\"1.0.0\"}\n"));
  return result;
}

support::Status write_layout_tar(const fs::path& layout, const fs::path& tar) {
  WISP_TRY_ASSIGN(auto files, collect_tree(layout, IgnoreRules::defaults()));
  std::erase_if(files, [](const TreeFile& f) { return f.name.find("/.") != std::string::npos; });
  WISP_TRY_ASSIGN(auto file, support::AtomicFile::create(tar));
  TarSink sink(file, false);
  WISP_TRY(write_tar(entries_under(files, ""), sink, resolve_time(std::nullopt)));
  return file.commit();
}

} // namespace wisp::artifact
