#pragma once
// Reading a side document of a template (a state machine definition, an OpenAPI file) the
// way the template itself is read: YAML 1.1 or JSON, short-form tags in long form.

#include <wisp/support/error.hpp>
#include <wisp/template/model.hpp>

#include <boost/json/value.hpp>

#include <filesystem>
#include <map>
#include <string>

namespace wisp::sam {

// The document at `path` as JSON; an error naming the file (with line and column) when it
// cannot be read or parsed.
support::Result<boost::json::value> read_document_file(const std::filesystem::path& path);

// The same, with where a template's resources are written: "Id" → the resource's key,
// "Id/Property" → that property's value (for messages naming a nested template's parts).
support::Result<boost::json::value>
read_document_file(const std::filesystem::path& path, const std::string& shown,
                   std::map<std::string, SourceRef, std::less<>>& positions);

} // namespace wisp::sam
