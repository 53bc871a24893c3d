#pragma once
// Live upgrade (`portier upgrade`, SIGUSR2): the running process starts the binary it was
// started from as its successor, hands it every listening socket, and drains only once the
// successor serves. The sockets are never closed in between, so no connection is refused: the
// kernel queues what neither process accepts yet (nginx's binary upgrade, HAProxy's -x).
//
// Handover protocol: the successor is the previous process's child (fork + exec, the way
// nginx does it), started with the same arguments. Its sockets arrive as systemd would pass
// them (LISTEN_FDS from descriptor 3, LISTEN_FDNAMES = entrypoint names, LISTEN_PID; see
// core/listen_fds.hpp), so it matches them to its entrypoints by address, and the write end of
// a pipe in PORTIER_UPGRADE_FD. Once its listeners are open and it serves, the successor writes
// "READY\n" there and closes it; the previous process then tells systemd the new MAINPID and
// drains. If the successor exits, closes the pipe without a word, or is not ready in time, the
// previous process kills it (if alive) and keeps serving.
#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include "proxy/asio.hpp"

namespace portier::app {

struct UpgradeResult {
  int pid = 0;        // the successor, when it serves
  std::string error;  // why not, otherwise
};

// Control thread. `command`: the binary and its arguments (command[0] is the path).
// `sockets`: descriptors and names to pass.
proxy::awaitable<UpgradeResult> start_successor(const std::vector<std::string>& command,
                                                const std::vector<std::pair<int, std::string>>& sockets,
                                                std::chrono::seconds timeout);

// In a successor: tells the previous process this one serves. False when not started by an
// upgrade (no PORTIER_UPGRADE_FD).
bool tell_predecessor_ready();

// The path of this process's binary as started (read at start: an upgrade replaces the file).
std::string own_binary_path();

}  // namespace portier::app
