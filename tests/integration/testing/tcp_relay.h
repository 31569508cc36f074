// A TCP relay on 127.0.0.1 between a client under test and the server, which can fail
// the way networks do: a partition that drops every byte silently in both directions
// (no reset, no error; the relay's kernel still acknowledges what it receives), or a
// cut that resets every connection.
#ifndef PGCDC_TESTS_INTEGRATION_TESTING_TCP_RELAY_H_
#define PGCDC_TESTS_INTEGRATION_TESTING_TCP_RELAY_H_

#include <atomic>
#include <memory>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"

namespace pgcdc::testing {

class TcpRelay {
 public:
  static absl::StatusOr<std::unique_ptr<TcpRelay>> Start(int target_port);
  ~TcpRelay();
  TcpRelay(const TcpRelay&) = delete;
  TcpRelay& operator=(const TcpRelay&) = delete;

  int port() const { return port_; }
  // Every open connection goes silent for good; new ones are accepted but silent too
  // until Heal().
  void Partition();
  // New connections reach the server again (the partitioned ones stay dead).
  void Heal();
  // Resets every open connection (the client sees the connection closed).
  void CutAll();
  int connections_accepted() const { return accepted_.load(); }

 private:
  struct Link {
    int client = -1;
    int server = -1;
    std::atomic<bool> silent{false};
    std::atomic<bool> cut{false};
  };
  TcpRelay(int listen_fd, int port, int target_port);
  void AcceptLoop();
  void Pump(std::shared_ptr<Link> link);

  const int listen_fd_;
  const int port_;
  const int target_port_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> partitioned_{false};
  std::atomic<int> accepted_{0};
  absl::Mutex mu_;
  std::vector<std::shared_ptr<Link>> links_ ABSL_GUARDED_BY(mu_);
  std::vector<std::thread> threads_ ABSL_GUARDED_BY(mu_);
  std::thread acceptor_;
};

}  // namespace pgcdc::testing

#endif  // PGCDC_TESTS_INTEGRATION_TESTING_TCP_RELAY_H_
