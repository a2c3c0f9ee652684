#pragma once
// LoggingConfig and TenancyConfig as Lambda applies them: the platform records of LogFormat
// JSON, Lambda's log levels, and SAM CLI's checks of an invocation's tenant id. Defined in
// lambda_text.cpp beside the text format's lines.

#include <wisp/runtime/lambda_text.hpp>

#include <chrono>
#include <string>
#include <string_view>

namespace wisp::runtime {

// LoggingConfig LogFormat JSON: Lambda's platform records, one JSON object per line, in the
// field order CloudWatch shows them (`time`, `type`, `record`). Durations in ms with at most
// three decimals. There is no END record.
//   {"time":..,"type":"platform.initStart","record":{"initializationType":"on-demand",
//    "phase":"init","functionName":..,"functionVersion":..,"instanceId":<log stream>,
//    "instanceMaxMemory":<bytes>}}
//   {"time":..,"type":"platform.start","record":{"requestId":..,"functionArn":..,"version":..}}
//   {"time":..,"type":"platform.report","record":{"requestId":..,"metrics":{"durationMs":..,
//    "billedDurationMs":..,"memorySizeMB":..,"maxMemoryUsedMB":..[,"initDurationMs":..]},
//    "status":"success"|"timeout"|"error"[,"errorType":..]}}
//   {"time":..,"type":"platform.initReport","record":{"initializationType":"on-demand",
//    "phase":"init","status":"error","errorType":..,"metrics":{"durationMs":..}}}
void write_platform_start(std::string& out, std::chrono::system_clock::time_point time,
                          std::string_view request_id, std::string_view function_arn,
                          std::string_view version);
void write_platform_report(std::string& out, std::chrono::system_clock::time_point time,
                           std::string_view request_id, const ReportFields& fields);
std::string platform_init_start(std::chrono::system_clock::time_point time,
                                std::string_view function_name, std::string_view version,
                                std::string_view instance_id, int memory_size_mb);
std::string platform_init_report(std::chrono::system_clock::time_point time,
                                 double init_duration_ms, std::string_view error_type);

// Lambda's log levels (TRACE < DEBUG < INFO < WARN < ERROR < FATAL) as numbers 1..6; 0 for a
// name that is none of them (case-insensitive).
int log_level_rank(std::string_view level);

// TenancyConfig: SAM CLI's message when an invocation's tenant id does not fit the function
// (missing for a multi-tenant function, given for another one); empty when it fits.
std::string tenant_id_problem(bool multi_tenant, std::string_view tenant_id);
// SAM CLI's check of a tenant id's form (1-256 characters of a-z A-Z 0-9 space _ . : / = + - @,
// not only spaces); the message for `option`, empty when it is valid.
std::string tenant_id_format_problem(std::string_view option, std::string_view tenant_id);

} // namespace wisp::runtime
