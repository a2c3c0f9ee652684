// wisp_infra_probe: the infrastructure stack wisp generates for a template, as JSON, for the
// integration tests that compare it with aws-sam-translator's expansions
// (tests/integration/test_infra.py). Not installed.
//
//   wisp_infra_probe TEMPLATE [--stack NAME] [--stage STAGE] [--new FUNCTION]... [--api ID=apiid]
//
// Functions and roles (an AWS::IAM::Role a function uses) named with --new do not exist yet
// (their triggers, and what names the roles, are late). Prints
// {"body", "early", "late", "parameters", "exports", "warnings"}; exit 1 with the error.

#include <wisp/aws/names.hpp>
#include <wisp/infra/infra.hpp>
#include <wisp/template/load.hpp>

#include <boost/json.hpp>
#include <fmt/format.h>

#include <cstdio>
#include <set>
#include <string>

int main(int argc, char** argv) {
  namespace json = boost::json;
  using namespace wisp;
  if (argc < 2) {
    std::fprintf(stderr, "usage: wisp_infra_probe TEMPLATE [--stack S] [--stage S] [--new F]\n");
    return 2;
  }
  sam::LoadOptions load;
  load.template_path = argv[1];
  load.check_code = false;
  load.stack_name = "app";
  std::string stage = "live";
  std::set<std::string> fresh;
  std::map<std::string, std::string> api_ids;
  for (int i = 2; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--stack")
      load.stack_name = argv[i + 1];
    else if (flag == "--stage")
      stage = argv[i + 1];
    else if (flag == "--new")
      fresh.insert(argv[i + 1]);
    else if (flag == "--api") {
      const std::string v = argv[i + 1];
      api_ids[v.substr(0, v.find('='))] = v.substr(v.find('=') + 1);
    }
  }
  auto model = sam::load_model(load);
  if (!model) {
    std::fprintf(stderr, "%s\n", model.error().message.c_str());
    for (const auto& d : model.error().diagnostics)
      std::fprintf(stderr, "%s:%d:%d: %s\n", d.file.c_str(), d.line, d.column, d.message.c_str());
    return 1;
  }
  infra::Inputs in;
  in.stack = load.stack_name;
  in.stage = stage;
  in.region = load.region;
  in.account = load.account_id;
  for (const auto& f : model->functions) {
    infra::WispFunction w;
    w.logical_id = f.logical_id;
    w.name = aws::function_name(in.stack, f.logical_id, f.function_name);
    w.alias = f.auto_publish_alias.empty() ? stage : f.auto_publish_alias;
    w.alias_arn =
        fmt::format("arn:aws:lambda:{}:{}:function:{}:{}", in.region, in.account, w.name, w.alias);
    if (f.role.empty()) {
      w.role_name = fmt::format("{}-{}-role", in.stack, f.logical_id);
      w.role_arn = fmt::format("arn:aws:iam::{}:role/{}", in.account, w.role_name);
    } else if (!f.role.logical_id.empty()) {
      in.roles.push_back(
          {f.role.logical_id, in.stack + "-" + f.role.logical_id,
           fmt::format("arn:aws:iam::{}:role/{}-{}", in.account, in.stack, f.role.logical_id),
           !fresh.contains(f.role.logical_id)});
    }
    w.exists = !fresh.contains(f.logical_id);
    in.functions.push_back(std::move(w));
  }
  for (const auto& a : model->apis) {
    // As the deployer: an API written without SAM is the stack's (build_desired skips it).
    if (const auto* r = model->find_resource(a.logical_id);
        r != nullptr && !r->type.starts_with("AWS::Serverless::"))
      continue;
    in.apis.push_back({a.logical_id, a.kind == sam::ApiKind::rest ? "rest" : "http",
                       api_ids.contains(a.logical_id) ? api_ids[a.logical_id] : "", stage});
  }
  auto stack = infra::generate(*model, in);
  if (!stack) {
    std::fprintf(stderr, "%s\n", stack.error().message.c_str());
    return 1;
  }
  json::array parameters;
  for (const auto& p : stack->parameters)
    parameters.push_back(json::object{{"key", p.key}, {"value", p.value}, {"no_echo", p.no_echo}});
  json::array exports;
  for (const auto& e : stack->exports)
    exports.push_back(json::object{
        {"id", e.logical_id}, {"attribute", e.attribute}, {"output", e.output}, {"type", e.type}});
  json::array late;
  for (const auto& id : stack->late)
    late.emplace_back(id);
  json::array warnings;
  for (const auto& w : stack->warnings)
    warnings.emplace_back(w);
  json::object out{{"body", stack->body},           {"early", stack->early},
                   {"late", std::move(late)},       {"parameters", std::move(parameters)},
                   {"exports", std::move(exports)}, {"warnings", std::move(warnings)}};
  std::printf("%s\n", json::serialize(out).c_str());
  return 0;
}
