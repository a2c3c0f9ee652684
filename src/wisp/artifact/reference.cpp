#include <wisp/artifact/registry.hpp>

#include <wisp/support/strings.hpp>

#include <fmt/format.h>

namespace wisp::artifact {

namespace {

bool valid_repository(std::string_view repo) {
  if (repo.empty())
    return false;
  for (const auto& part : support::split(repo, '/')) {
    if (part.empty())
      return false;
    for (const char c : part)
      if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
        return false;
  }
  return true;
}

} // namespace

std::string ImageReference::str() const {
  std::string text = registry + "/" + repository;
  if (!tag.empty())
    text += ":" + tag;
  if (!digest.empty())
    text += "@" + digest;
  return text;
}

support::Result<ImageReference> parse_image_reference(std::string_view text) {
  ImageReference ref;
  std::string rest(text);
  if (rest.empty())
    return support::fail("empty image reference");
  if (const auto at = rest.find('@'); at != std::string::npos) {
    ref.digest = rest.substr(at + 1);
    rest.erase(at);
    if (!ref.digest.starts_with("sha256:") || ref.digest.size() != 71)
      return support::failf("image reference '{}': the digest must be sha256:<64 hex digits>",
                            text);
  }
  // The first component is a registry when it has a '.' or ':' or is "localhost".
  const auto slash = rest.find('/');
  if (slash != std::string::npos) {
    const auto first = rest.substr(0, slash);
    if (first.find_first_of(".:") != std::string::npos || first == "localhost") {
      ref.registry = first;
      rest.erase(0, slash + 1);
    }
  }
  if (ref.registry.empty()) {
    ref.registry = "docker.io";
    if (rest.find('/') == std::string::npos)
      rest = "library/" + rest;
  }
  if (const auto colon = rest.rfind(':'); colon != std::string::npos) {
    ref.tag = rest.substr(colon + 1);
    rest.erase(colon);
    if (ref.tag.empty() || ref.tag.size() > 128)
      return support::failf("image reference '{}': malformed tag", text);
  }
  if (ref.tag.empty() && ref.digest.empty())
    ref.tag = "latest";
  ref.repository = rest;
  if (!valid_repository(ref.repository))
    return support::failf("image reference '{}': repository '{}' must be lower-case letters, "
                          "digits, '.', '_', '-' and '/'",
                          text, ref.repository);
  if (ref.registry == "docker.io")
    ref.registry = "registry-1.docker.io";
  return ref;
}

} // namespace wisp::artifact
