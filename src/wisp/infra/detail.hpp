#pragma once
// Internal to the infra area: walking and rewriting references in CloudFormation JSON, and
// SAM's expansions (expand.cpp).

#include <wisp/infra/infra.hpp>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace wisp::infra::detail {

// One reference: {Ref: id}, {Fn::GetAtt: [id, attribute]} (or "id.attribute"), or ${id} /
// ${id.attribute} inside a Fn::Sub string (the Sub's own variables excluded). `Ref` of
// "F.Alias" (SAM's alias reference) is id "F", attribute "Alias" with `ref` true.
// `qualified`: in a Fn::Sub string the reference is followed by ':' — the template qualifies
// the ARN itself (`${Fn.Arn}:live`), so it wants the unqualified one.
struct Reference {
  std::string id;
  std::string attribute;
  bool ref = true;
  bool qualified = false;
};

// Calls `visit` for every reference to a resource in `value` (pseudo parameters skipped).
void for_each_reference(const boost::json::value& value,
                        const std::function<void(const Reference&)>& visit);

// What a reference becomes: nullopt keeps it; otherwise the value to put in its place (a
// {Ref: parameter} or a literal string; inside Fn::Sub strings, ${parameter} or the text).
using Rewriter =
    std::function<support::Result<std::optional<boost::json::value>>(const Reference&)>;

// Rewrites every reference in `value` in place.
support::Status rewrite_references(boost::json::value& value, const Rewriter& rewrite);

// "Ab-c.d" → "Abcd": what can be part of a logical id or parameter name.
std::string alphanumeric(std::string_view text);

// "file:line:col: " before a message about what `where` points at ("file: " without a line,
// nothing without a file).
std::string source_prefix(const sam::SourceRef& where);

// SAM's tag list from a Tags map: [{Key, Value}, ...] (keys sorted as SAM does).
boost::json::array tag_list(const boost::json::value& tags);

// JSON text as Python's json.dumps(sort_keys=True, indent=4, separators=(",", ": ")) writes
// it (what SAM splits into the lines of a state machine's DefinitionString).
std::string pretty_sorted_json(const boost::json::value& value);

// --- expansions: each adds CloudFormation resources (by logical id) to `out` ---

struct ExpandContext {
  const sam::Model& model;
  const Inputs& inputs;
  boost::json::object& resources; // the stack's resources
  std::map<std::string, sam::SourceRef>& sources;
  std::vector<std::string>& warnings;
  // The SAM id of a function's stage alias ("FnAliaslive" style; rewritten to a parameter).
  [[nodiscard]] std::string alias_id(const sam::Function& function) const;
};

support::Status expand_simple_table(const sam::Resource& resource, ExpandContext& context);
support::Status expand_state_machine(const sam::Resource& resource, ExpandContext& context);
// A function event SAM turns into resources (SQS, Kinesis, DynamoDB, S3, SNS, Schedule,
// ScheduleV2, EventBridgeRule, CloudWatchEvent, CloudWatchLogs). False: not a type the stack
// takes (Api and HttpApi are wisp's; others are reported by the caller).
support::Result<bool> expand_function_event(const sam::Function& function,
                                            const sam::EventSource& event, ExpandContext& context);

// Every occurrence of `text` inside the strings of `value` becomes `reference` (a {Ref} or
// {Fn::GetAtt} object): a whole string is the reference, a part of one a Fn::Join, inside a
// Fn::Sub pattern `${...}`. True when there was one.
bool replace_text(boost::json::value& value, const std::string& text,
                  const boost::json::object& reference);

// nested_generate.cpp: the templates of the nested stacks in `inputs.nested` that wisp
// generates, each with `generate_one`; the parent's stack resources pointed at their uploads
// (`out.uploads`) and passed wisp's values.
support::Status generate_children(
    const sam::Model& model, const Inputs& inputs, StackTemplate& out,
    const std::function<support::Result<StackTemplate>(const sam::Model&, const Inputs&)>&
        generate_one);

} // namespace wisp::infra::detail
