#include <wisp/support/fs.hpp>
#include <wisp/template/convert.hpp>
#include <wisp/template/document.hpp>
#include <wisp/template/reader.hpp>

#include <fmt/format.h>

namespace wisp::sam {

support::Result<boost::json::value> read_document_file(const std::filesystem::path& path) {
  WISP_TRY_ASSIGN(auto text, support::read_file(path, 32u * 1024 * 1024));
  support::Diagnostics diagnostics;
  detail::Arena arena;
  const detail::ArenaScope scope(arena);
  auto node = detail::read_document(text, path.string(), diagnostics);
  if (!node || diagnostics.has_errors()) {
    for (const auto& d : diagnostics.items())
      if (d.severity == support::Severity::error)
        return support::failf("{}:{}:{}: {}", d.file, d.line, d.column, d.message);
    return support::failf("{}: not a readable document", path.string());
  }
  return detail::to_json(*node);
}

} // namespace wisp::sam
