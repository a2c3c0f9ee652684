#include <wisp/support/fs.hpp>
#include <wisp/template/convert.hpp>
#include <wisp/template/document.hpp>
#include <wisp/template/reader.hpp>

#include <fmt/format.h>

namespace wisp::sam {

support::Result<boost::json::value> read_document_file(const std::filesystem::path& path) {
  std::map<std::string, SourceRef, std::less<>> positions;
  return read_document_file(path, path.string(), positions);
}

support::Result<boost::json::value>
read_document_file(const std::filesystem::path& path, const std::string& shown,
                   std::map<std::string, SourceRef, std::less<>>& positions) {
  WISP_TRY_ASSIGN(auto text, support::read_file(path, 32u * 1024 * 1024));
  support::Diagnostics diagnostics;
  detail::Arena arena;
  const detail::ArenaScope scope(arena);
  auto node = detail::read_document(text, shown, diagnostics);
  if (!node || diagnostics.has_errors()) {
    for (const auto& d : diagnostics.items())
      if (d.severity == support::Severity::error)
        return support::failf("{}:{}:{}: {}", d.file, d.line, d.column, d.message);
    return support::failf("{}: not a readable document", shown);
  }
  if (const auto* resources = node->find("Resources"); resources && resources->is_mapping())
    for (const auto& resource : resources->entries) {
      positions[resource.key] = SourceRef{shown, resource.key_mark.line, resource.key_mark.column};
      if (!resource.value.is_mapping())
        continue;
      if (const auto* properties = resource.value.find("Properties");
          properties && properties->is_mapping())
        for (const auto& property : properties->entries)
          positions[resource.key + "/" + property.key] =
              SourceRef{shown, property.value.mark.line, property.value.mark.column};
    }
  return detail::to_json(*node);
}

} // namespace wisp::sam
