// The explicit table of wisp's commands, in help order. A command is listed here only
// when it works.

#include "../command.hpp"

namespace wisp::cli {

std::unique_ptr<Command> make_init_command();
std::unique_ptr<Command> make_validate_command();
std::unique_ptr<Command> make_build_command();
std::unique_ptr<Command> make_package_command();
std::unique_ptr<Command> make_logs_command();
std::unique_ptr<Command> make_deploy_command();
std::unique_ptr<Command> make_deploy_status_command();
std::unique_ptr<Command> make_promote_command();
std::unique_ptr<Command> make_rollback_command();
std::unique_ptr<Command> make_delete_command();
std::unique_ptr<Command> make_local_start_api_command();
std::unique_ptr<Command> make_local_start_lambda_command();
std::unique_ptr<Command> make_completion_command();
std::unique_ptr<Command> make_local_invoke_command();
std::unique_ptr<Command> make_local_generate_event_command();
std::unique_ptr<Command> make_local_execution_get_command();
std::unique_ptr<Command> make_local_execution_history_command();
std::unique_ptr<Command> make_local_execution_stop_command();
std::unique_ptr<Command> make_local_execution_list_command();
std::unique_ptr<Command> make_local_callback_succeed_command();
std::unique_ptr<Command> make_local_callback_fail_command();
std::unique_ptr<Command> make_local_callback_heartbeat_command();
std::unique_ptr<Command> make_local_trigger_command();
std::unique_ptr<Command> make_local_start_command();

std::vector<std::unique_ptr<Command>> make_commands() {
  std::vector<std::unique_ptr<Command>> commands;
  commands.push_back(make_init_command());
  commands.push_back(make_validate_command());
  commands.push_back(make_build_command());
  commands.push_back(make_package_command());
  commands.push_back(make_local_invoke_command());
  commands.push_back(make_local_generate_event_command());
  commands.push_back(make_local_start_command());
  commands.push_back(make_local_start_api_command());
  commands.push_back(make_local_start_lambda_command());
  commands.push_back(make_local_execution_get_command());
  commands.push_back(make_local_execution_history_command());
  commands.push_back(make_local_execution_stop_command());
  commands.push_back(make_local_execution_list_command());
  commands.push_back(make_local_callback_succeed_command());
  commands.push_back(make_local_callback_fail_command());
  commands.push_back(make_local_callback_heartbeat_command());
  commands.push_back(make_local_trigger_command());
  commands.push_back(make_deploy_command());
  commands.push_back(make_deploy_status_command());
  commands.push_back(make_promote_command());
  commands.push_back(make_rollback_command());
  commands.push_back(make_delete_command());
  commands.push_back(make_logs_command());
  commands.push_back(make_completion_command());
  return commands;
}

std::string group_description(const std::string& name) {
  if (name == "local")
    return "Run functions and APIs on this machine, without Docker";
  if (name == "execution")
    return "Durable function executions run locally: get, history, stop, list";
  if (name == "callback")
    return "Answer a durable function's callback: succeed, fail, heartbeat";
  return {};
}

} // namespace wisp::cli
