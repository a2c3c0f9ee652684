#pragma once
// Lambda's recursive loop detection, as the engine applies it to every invocation: the X-Ray
// trace header (X-Amzn-Trace-Id) carries a `Lineage=` field — per function a hash of it and
// how many times the chain of events has invoked it (`1:fe460cdd:3`; older headers write
// `fe460cdd:3`; several functions are joined by `|`). An invocation whose header already counts
// the function gets the count plus one, else 0; the function sees that header in
// _X_AMZN_TRACE_ID, the AWS SDKs pass it on (SQS keeps it as the AWSTraceHeader attribute, SNS
// in the delivered message), and an invocation that would reach 16 is stopped
// (RecursiveInvocationException) unless the function's RecursiveLoop is Allow: Lambda stops a
// chain after 16 invocations. docs/console.md#recursive-loops.

#include <string>
#include <string_view>

namespace wisp::runtime {

inline constexpr int k_recursion_limit = 16; // invocations of one function in one chain

// The function's key in Lineage: 8 hex digits of a hash of its ARN.
std::string lineage_hash(std::string_view function_arn);

// The count the header holds for `hash`; -1 when it does not name it (or has no Lineage).
int lineage_count(std::string_view trace_header, std::string_view hash);

// The header with the function's entry set to `count` (added, or replaced in place).
std::string with_lineage(std::string_view trace_header, std::string_view hash, int count);

} // namespace wisp::runtime
