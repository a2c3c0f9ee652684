// wisp package — builds, then uploads zips to S3 / pushes images (or exports both to a
// directory) and writes the packaged template (src/wisp/artifact/package.hpp).

#include "../command.hpp"
#include "load.hpp"

#include <wisp/artifact/package.hpp>
#include <wisp/artifact/registry.hpp>
#include <wisp/aws/client.hpp>
#include <wisp/aws/s3.hpp>
#include <wisp/infra/nested_package.hpp>
#include <wisp/support/fs.hpp>
#include <wisp/template/load.hpp>

#include <boost/json.hpp>
#include <fmt/format.h>

#include <algorithm>

namespace wisp::cli {

namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

class PackageCommand final : public Command {
public:
  [[nodiscard]] CommandInfo info() const override {
    return {{"package"},
            "Build, then upload artifacts and write the packaged template",
            "Builds every function and layer (reusing unchanged builds), checks Lambda's size "
            "limits, then uploads each zip to S3 under a content-addressed key "
            "([prefix/]<sha256>.zip; nothing is uploaded when the object is already there) and "
            "pushes images (PackageType Image, or --format oci) to --image-repository. Writes "
            "the template with CodeUri/ContentUri/ImageUri pointing at the artifacts (stdout "
            "without --output-template-file). Nested stacks with a local template "
            "(AWS::CloudFormation::Stack TemplateURL, AWS::Serverless::Application Location) "
            "have it uploaded ([prefix/]<sha256>.template) and their URL written in its place; "
            "a child holding functions or layers is packaged first as the root is (its "
            "artifacts uploaded and written into it). "
            "--output-dir exports instead of uploading.",
            {{"wisp package --s3-bucket my-artifacts --output-template-file packaged.yaml",
              "Upload zips and write the packaged template"},
             {"wisp package --output-dir dist", "Write <LogicalId>.zip files, upload nothing"},
             {"wisp package --format oci --output-dir dist --base-image oci:base:3.12",
              "Each function as an OCI image layout in dist/"},
             {"wisp package --image-repository 127.0.0.1:5000/app --insecure-registry "
              "--output-template-file packaged.yaml",
              "Push images to a plain-HTTP loopback registry"}},
            k_group_template | k_group_parameters | k_group_aws | k_group_aws_calls |
                k_group_output};
  }

  void add_options(CLI::App& app) override {
    app.add_option("--output-dir", m_output_dir,
                   "Write the artifacts here (<LogicalId>.zip, OCI layouts) instead of "
                   "uploading");
    app.add_option("--s3-bucket", m_bucket, "S3 bucket for zip artifacts");
    app.add_option("--s3-prefix", m_prefix, "Key prefix in the bucket");
    app.add_option("--image-repository", m_image_repository,
                   "Registry repository for images (host[:port]/name)");
    app.add_option("--output-template-file", m_template_output,
                   "Write the packaged template here (default: stdout)");
    set_choices(app.add_option("--format", m_format,
                               "Artifact format (default: zip, or an image for PackageType "
                               "Image)"),
                {"zip", "oci"});
    app.add_option("--base-image", m_base_image,
                   "Base image for OCI artifacts: an OCI layout (oci:DIR[:TAG]) or a registry "
                   "reference");
    app.add_flag("--insecure-registry", m_insecure,
                 "Talk plain HTTP to the registry (loopback test registries)");
    app.add_flag("--force-upload", m_force, "Upload even when the object already exists");
    app.add_flag("--oci-archive", m_oci_archive,
                 "With --output-dir: also write each OCI layout as <LogicalId>.tar");
    app.add_option("-b,--build-dir", m_build_dir,
                   "Build directory (default: samconfig's build_dir for build, else .wisp/build)");
  }

  int run(Context& context) override {
    int exit_code = 0;
    sam::LoadOptions load;
    // Children are read by infra::nested_templates (uploaded as they are, or packaged as the
    // root is when they hold code: package_tree), not loaded into the model.
    load.nested_applications = false;
    auto model = load_template(context, std::move(load), exit_code);
    if (!model)
      return exit_code;
    artifact::PackageOptions options;
    options.output_dir = m_output_dir;
    options.s3_bucket = m_bucket;
    options.s3_prefix = m_prefix;
    options.image_repository = m_image_repository;
    options.format = m_format == "oci"   ? artifact::PackageFormat::oci
                     : m_format == "zip" ? artifact::PackageFormat::zip
                                         : artifact::PackageFormat::automatic;
    options.base_image = m_base_image;
    options.force_upload = m_force;
    options.oci_archive = m_oci_archive;
    options.template_output = m_template_output;
    options.build.build_dir = !m_build_dir.empty() ? m_build_dir : context.global.config_build_dir;
    options.build.parallel = true;
    const bool quiet = context.console.json;
    artifact::RegistryOptions registry;
    registry.insecure = m_insecure;
    registry.on_event = [&](const artifact::PushEvent& event) {
      if (quiet)
        return;
      const char* verb = event.type == artifact::PushEvent::Type::exists      ? "exists  "
                         : event.type == artifact::PushEvent::Type::uploading ? "pushing "
                         : event.type == artifact::PushEvent::Type::uploaded  ? "pushed  "
                                                                              : "manifest";
      context.console.err(fmt::format("  {} {} {} ({} bytes)\n", verb, event.what,
                                      event.digest.oci().substr(0, 19), event.digest.size));
    };
    options.on_progress = [&](const std::string& line) {
      if (!quiet)
        context.console.err(line + "\n");
    };
    std::shared_ptr<aws::Client> s3;
    if (m_output_dir.empty() && !m_bucket.empty()) {
      aws::ClientOptions client_options;
      client_options.region = context.global.region;
      client_options.profile = context.global.profile;
      client_options.endpoint_url = context.global.endpoint_url;
      client_options.connect_timeout = std::chrono::seconds(context.global.cli_connect_timeout);
      client_options.read_timeout = std::chrono::seconds(context.global.cli_read_timeout);
      if (context.global.debug)
        client_options.debug = [&](std::string_view line) { context.console.debug_log(line); };
      auto client = aws::make_client(client_options);
      if (!client) {
        print_error(context, client.error());
        return 1;
      }
      s3 = *client;
      options.object_exists = [s3](const std::string& bucket, const std::string& key,
                                   std::uint64_t size) -> support::Result<bool> {
        auto head = aws::s3::head_object(*s3, bucket, key);
        if (!head)
          return tl::unexpected(support::Error(head.error()));
        return head->has_value() && (*head)->size == size;
      };
      options.put_object = [s3](const std::string& bucket, const std::string& key,
                                const fs::path& zip,
                                const artifact::Digest& digest) -> support::Status {
        aws::s3::PutOptions put;
        put.content_type = "application/zip";
        put.sha256_hex = digest.hex;
        put.metadata = {{"codesha256", digest.base64}};
        auto stored = aws::s3::put_object_file(*s3, bucket, key, zip, put);
        if (!stored)
          return tl::unexpected(support::Error(stored.error()));
        return {};
      };
    }
    options.push = [&registry](const fs::path& layout, const std::string& tag,
                               const artifact::ImageReference& destination) {
      return artifact::push_image(layout, tag, destination, registry);
    };
    options.pull = [&registry](const artifact::ImageReference& source,
                               const std::string& architecture, const fs::path& layout,
                               const std::string& tag) {
      return artifact::pull_image(source, architecture, layout, tag, registry);
    };
    // Nested stacks' local templates: a child holding code packaged as the root (its
    // artifacts uploaded first), then every template uploaded content-addressed, children
    // first, and their URLs written where the templates name them.
    m_root_build_dir = artifact::resolve_build_dir(*model, options.build.build_dir);
    auto tree = package_tree(context, *model, options, s3.get(), {}, {});
    if (!tree) {
      print_error(context, tree.error());
      return static_cast<int>(tree.error().exit_code);
    }
    std::vector<infra::NestedTemplate> nested_uploaded;
    if (s3) {
      const auto* nested = &tree->nested;
      for (auto& t : nested->templates) {
        auto head = aws::s3::head_object(*s3, m_bucket, t.key);
        if (!head) {
          print_error(context, support::Error(head.error()));
          return 1;
        }
        if (m_force || !head->has_value() || (*head)->size != t.body.size()) {
          aws::s3::PutOptions put;
          put.content_type = "application/json";
          if (auto stored = aws::s3::put_object(*s3, m_bucket, t.key, t.body, put); !stored) {
            print_error(context, support::Error(stored.error()));
            return 1;
          }
          nested_uploaded.push_back(t);
        }
      }
      for (const auto& t : nested->templates)
        if (!quiet)
          context.console.err(fmt::format(
              "{} {:<24} {}\n",
              std::any_of(nested_uploaded.begin(), nested_uploaded.end(),
                          [&](const infra::NestedTemplate& u) { return u.key == t.key; })
                  ? "uploaded"
                  : "exists  ",
              t.logical_id, t.url));
    }
    auto* result = &tree->result;
    for (const auto& w : result->warnings)
      context.console.warning(w);
    if (!m_template_output.empty() &&
        support::read_file(m_template_output).value_or(std::string()) != result->template_text) {
      if (auto written = support::write_file_atomic(m_template_output, result->template_text);
          !written) {
        print_error(context, written.error());
        return 1;
      }
    }
    if (context.console.json) {
      json::array artifacts;
      for (const auto& a : result->artifacts)
        artifacts.push_back(json::object{{"logicalId", a.logical_id},
                                         {"format", a.format},
                                         {"location", a.location},
                                         {"sha256", a.sha256},
                                         {"uploaded", a.uploaded}});
      json::array templates;
      for (const auto& [id, url] : tree->nested.urls)
        templates.push_back(json::object{{"logicalId", id}, {"location", url}});
      json::object out{{"artifacts", std::move(artifacts)},
                       {"nestedTemplates", std::move(templates)},
                       {"uploads", result->uploads + nested_uploaded.size()}};
      if (!m_template_output.empty())
        out["template"] = m_template_output;
      else
        out["templateBody"] = result->template_text;
      context.console.out(json::serialize(out) + "\n");
      return 0;
    }
    for (const auto& a : result->artifacts)
      context.console.err(
          fmt::format("{} {:<24} {}\n",
                      a.uploaded ? (m_output_dir.empty() ? "uploaded" : "written ") : "exists  ",
                      a.logical_id, a.location));
    if (m_template_output.empty())
      context.console.out(result->template_text);
    else
      context.console.err(fmt::format("Packaged template: {} ({} upload{})\n", m_template_output,
                                      result->uploads + nested_uploaded.size(),
                                      result->uploads + nested_uploaded.size() == 1 ? "" : "s"));
    return 0;
  }

private:
  struct Tree {
    artifact::PackageResult result;
    infra::NestedTemplates nested;
  };

  // `model` (the root, or a child at stack path `path` below the templates `chain`) packaged:
  // its nested stacks' templates first (a child holding code packaged by this, recursively:
  // its artifacts uploaded and named in its template, as `sam package` does), then its own
  // artifacts. A child's artifacts are listed as `Child/Fn`; its builds are kept under
  // <build dir>/.nested/<path>.
  support::Result<Tree> package_tree(Context& context, const sam::Model& model,
                                     artifact::PackageOptions options, aws::Client* s3,
                                     const std::string& path, const std::vector<fs::path>& chain) {
    Tree tree;
    std::vector<artifact::PackagedArtifact> below;
    std::vector<std::string> warnings;
    std::size_t uploads = 0;
    if (s3 != nullptr) {
      const auto package_child =
          [&](const infra::ChildToPackage& child) -> support::Result<infra::PackagedChild> {
        sam::LoadOptions load;
        std::error_code ec;
        load.template_path = fs::exists(child.shown, ec) ? fs::path(child.shown) : child.path;
        load.nested_applications = false;
        load.region = s3->region();
        support::Diagnostics child_warnings;
        auto loaded = sam::load_model(load, &child_warnings);
        for (const auto& warning : child_warnings.items())
          context.console.err(support::render(warning, {context.console.color_err, false}));
        if (!loaded)
          return tl::unexpected(loaded.error());
        auto child_options = options;
        child_options.build.build_dir = m_root_build_dir / ".nested" / child.logical_id;
        child_options.template_output.clear();
        child_options.nested_urls.clear();
        WISP_TRY_ASSIGN(auto packaged, package_tree(context, *loaded, child_options, s3,
                                                    child.logical_id, child.chain));
        // Its id in `model` ("Audit" of "Orders/Audit"): what it lists is below it already.
        const auto id = path.empty() ? child.logical_id : child.logical_id.substr(path.size() + 1);
        for (auto& a : packaged.result.artifacts) {
          a.logical_id = id + "/" + a.logical_id;
          below.push_back(std::move(a));
        }
        for (auto& w : packaged.result.warnings)
          warnings.push_back(id + ": " + w);
        uploads += packaged.result.uploads;
        return infra::PackagedChild{std::move(packaged.result.template_text),
                                    std::move(packaged.nested.templates)};
      };
      WISP_TRY_ASSIGN(tree.nested, infra::nested_templates(model, m_bucket, m_prefix, s3->region(),
                                                           package_child, path, chain));
      options.nested_urls = tree.nested.urls;
    }
    WISP_TRY_ASSIGN(tree.result, artifact::package(model, options));
    tree.result.artifacts.insert(tree.result.artifacts.begin(),
                                 std::make_move_iterator(below.begin()),
                                 std::make_move_iterator(below.end()));
    tree.result.warnings.insert(tree.result.warnings.begin(), warnings.begin(), warnings.end());
    tree.result.uploads += uploads;
    return tree;
  }

  std::string m_output_dir;
  std::string m_bucket;
  std::string m_prefix;
  std::string m_image_repository;
  std::string m_template_output;
  std::string m_format;
  std::string m_base_image;
  bool m_insecure = false;
  bool m_force = false;
  bool m_oci_archive = false;
  std::string m_build_dir;
  fs::path m_root_build_dir;
};

} // namespace

std::unique_ptr<Command> make_package_command() {
  return std::make_unique<PackageCommand>();
}

} // namespace wisp::cli
