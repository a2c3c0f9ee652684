#pragma once
// The infrastructure of an app: every resource of the template that wisp does not deploy
// itself (tables, queues, buckets, topics, rules, state machines, log groups, ... and what SAM
// expands — SimpleTable, StateMachine, the plumbing of function event sources) as one
// CloudFormation template, deployed as one stack per app through change sets (stack.hpp).
//
// Contract of generate():
// - Pure: the template model and the names of what wisp deploys in, a template out; no call.
// - SAM's expansions follow aws-sam-translator's output (logical ids, properties, roles,
//   permissions), with intrinsics left for CloudFormation to resolve.
// - References into wisp's side (functions, their stage aliases and roles, APIs, alarms)
//   become stack parameters (wisp's physical names are deterministic); references from wisp's
//   side into the stack (an environment variable's !Ref Table, a policy template's
//   TableName) become stack outputs, read after the stack is deployed (`Export`).
// - What must wait for something this deploy creates (a permission or event source mapping
//   on a new function's alias, anything naming an API not created yet) is "late": `early`
//   is the template without it, deployed before the functions; `body` after them. A cycle
//   between the two sides (a function needs a value of a late resource) is an error naming
//   both.
// - NoEcho parameter values never appear in the template: they are passed as NoEcho stack
//   parameters.

#include <wisp/support/error.hpp>
#include <wisp/template/model.hpp>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

namespace wisp::infra {

// A nested stack's template as uploaded: the local file read, its own local nested stacks
// pointed at their uploads, `AWS::Serverless::Application` made the `AWS::CloudFormation::Stack`
// aws-sam-translator makes of it, as JSON; its key is content-addressed.
struct NestedTemplate {
  std::string logical_id; // path from the root: "Child", "Child/Grandchild"
  std::string file;       // as shown in messages
  std::string key;        // object key in the deploy's bucket
  std::string url;        // https://s3.<region>.amazonaws.com/<bucket>/<key> (as sam package)
  std::string body;
};

// A child of the root template that holds what wisp deploys (functions, layers, APIs) or SAM
// resources: wisp deploys its functions, layers and APIs (as `Child/Fn`, the model `wisp local`
// runs), and generates its template (the rest, SAM's expansions, references into wisp's side as
// its parameters) with the root's stack template (nested_generate.cpp).
struct GeneratedChild {
  std::string logical_id; // in the root template
  std::string file;       // as shown in messages
  // The child loaded with its own parameters left as references (Defaults dropped; those a
  // Condition reads take the value the parent passes).
  std::shared_ptr<const sam::Model> model;
  boost::json::object declarations;         // its Parameters section as written
  std::set<std::string> unknown_parameters; // passed a value known only to a deployed stack
  std::map<std::string, std::string> urls;  // its own local nested stacks → their uploads
  // What the child's load took for AWS::StackName (the nested stack's name is CloudFormation's):
  // a stand-in, made `!Ref AWS::StackName` again in its template.
  std::string stack_name;
  bool wants_stack_name = false; // its functions name it: the output WispStackName
};

struct NestedTemplates {
  std::map<std::string, std::string> urls; // the root's nested stacks → their TemplateURL
  std::vector<NestedTemplate> templates;   // every template to upload, children first
  std::vector<GeneratedChild> generated;
  // The generated children's functions, layers and APIs as resources of the root template
  // (`Child/Fn`), their references into the child made readable by wisp's side: a child
  // resource → the child's output (`!GetAtt Child.Outputs.WispRefTable`), a parameter → its
  // value, or the child's output `WispParam<Name>` when only the deployed stack knows it.
  std::vector<sam::Resource> resources;
  std::string bucket, prefix, region; // where generated templates go
};

// What wisp deploys that the infrastructure may name.
struct WispFunction {
  std::string logical_id;
  std::string name;      // physical function name
  std::string alias;     // the stage alias
  std::string alias_arn; // arn:...:function:name:alias
  std::string role_name; // the role wisp makes for it (empty when Role is given)
  std::string role_arn;
  bool exists = true;       // its alias exists before this deploy
  bool role_exists = false; // its role exists before the stack (made first, or already there)
};

struct WispApi {
  std::string logical_id;
  std::string kind; // rest | http
  std::string id;   // empty: not created yet (references to it are late)
  std::string stage;
};

struct WispName {
  std::string logical_id; // an AWS::IAM::Role or AWS::CloudWatch::Alarm wisp deploys
  std::string name;
  std::string arn;
  bool exists = true; // exists before this deploy (a role wisp makes later in the deploy does not)
};

struct Inputs {
  std::string stack;
  std::string stage;
  std::string region;
  std::string account;
  std::vector<WispFunction> functions;
  std::vector<WispApi> apis;
  std::vector<WispName> roles;
  std::vector<WispName> alarms;
  std::vector<WispName> layers; // arn: the version ARN, empty when not published yet
  // Nested stacks whose template is a local file (AWS::Serverless::Application's Location,
  // AWS::CloudFormation::Stack's TemplateURL): logical id → the URL it was uploaded to.
  std::map<std::string, std::string> nested_urls;
  // Nested stacks whose template holds what wisp deploys (functions, layers, APIs) or SAM
  // resources: their templates are generated with the stack's (nested_generate.cpp).
  std::shared_ptr<const NestedTemplates> nested;
  // Names the template declares as parameters that stay references (a nested template's own
  // parameters, passed by its parent).
  std::set<std::string> parameters;
};

struct Parameter {
  std::string key;
  std::string value;
  bool no_echo = false;
};

// A value of the stack wisp's side needs: Ref (attribute empty) or Fn::GetAtt of a stack
// resource, read from the stack's output `output`.
struct Export {
  std::string logical_id;
  std::string attribute;
  std::string output;
  std::string type; // the resource's CloudFormation type
};

struct StackTemplate {
  boost::json::object body;  // the whole template
  boost::json::object early; // without the late resources (equal to body when there are none)
  std::set<std::string> late;
  std::vector<Parameter> parameters;
  std::vector<Export> exports;
  // Resources of the stack (after expansion) → where the template declares what made them.
  std::map<std::string, sam::SourceRef> sources;
  std::map<std::string, std::string> types; // logical id → type
  std::vector<std::string> retained;        // DeletionPolicy Retain/Snapshot
  std::vector<std::string> warnings;
  // Function event sources deployed in the stack (so deploy no longer warns about them).
  std::set<std::string> deployed_events; // "Function.Event"
  // Generated nested templates (early and final forms) to upload before the stack deploys.
  std::vector<NestedTemplate> uploads;

  [[nodiscard]] bool empty() const;
  // The stack must be deployed twice (before and after the functions phase).
  [[nodiscard]] bool split() const { return early != body; }
};

support::Result<StackTemplate> generate(const sam::Model& model, const Inputs& inputs);

// The ids of the resources wisp deploys itself (functions, APIs, layers, the roles and alarms
// in `inputs`); everything else of the template goes into the stack.
bool wisp_owned(const sam::Resource& resource, const Inputs& inputs);

// --- nested stacks (nested.cpp) ---

// An AWS::Serverless::Application made the AWS::CloudFormation::Stack aws-sam-translator
// makes of it (TemplateURL `url`; empty: the Location as written).
void application_to_stack(boost::json::object& resource, const std::string& url);

// True when a template holds what wisp deploys itself (functions, layers, APIs) or SAM
// resources other than nested applications: `wisp deploy` generates such a child's template
// (nested_generate.cpp), `wisp package` packages it as `sam package` does (nested_package.hpp),
// and a packaged one is read back from S3 for deploy (deploy/nested_fetch.hpp).
bool needs_generation(const boost::json::value& document);

// `model` with the generated children's functions, layers and APIs as its resources
// (NestedTemplates::resources), the functions' Policies taken from them.
sam::Model with_nested(const sam::Model& model, const NestedTemplates& nested);

// The same for `wisp deploy`: a child that holds functions, layers, APIs or SAM resources is
// not refused but generated (NestedTemplates::generated); `stack`, `account`: the deploy's.
support::Result<NestedTemplates>
nested_templates_for_deploy(const sam::Model& model, const std::string& bucket,
                            const std::string& prefix, const std::string& region,
                            const std::string& stack, const std::string& account);

// --- SAM policy templates (the list aws-sam-translator knows) ---

// The statements of one policy template, with parameter values substituted the way SAM does
// it: {"Fn::Sub": [pattern, {Param: value}]}, where a value may itself be an intrinsic (e.g.
// {"Ref": "Table"}). Unknown name: an error with a "did you mean".
support::Result<boost::json::array> policy_template(std::string_view name,
                                                    const boost::json::value& parameters);
std::vector<std::string> policy_template_names();

} // namespace wisp::infra
