#include "integration/testing/tcp_relay.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace pgcdc::testing {
namespace {

int ConnectLoopback(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

// Writes all of `data` (blocking); false if the peer is gone.
bool WriteAll(int fd, const char* data, ssize_t n) {
  while (n > 0) {
    const ssize_t w = send(fd, data, static_cast<size_t>(n), MSG_NOSIGNAL);
    if (w <= 0) return false;
    data += w;
    n -= w;
  }
  return true;
}

void Reset(int fd) {
  linger hard = {1, 0};  // close() sends RST
  setsockopt(fd, SOL_SOCKET, SO_LINGER, &hard, sizeof hard);
  shutdown(fd, SHUT_RDWR);
}

}  // namespace

absl::StatusOr<std::unique_ptr<TcpRelay>> TcpRelay::Start(int target_port) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = 0;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  if (bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 || listen(fd, 16) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    close(fd);
    return absl::InternalError(absl::StrCat("relay: ", std::strerror(errno)));
  }
  std::unique_ptr<TcpRelay> relay(new TcpRelay(fd, ntohs(address.sin_port), target_port));
  relay->acceptor_ = std::thread([r = relay.get()] { r->AcceptLoop(); });
  return relay;
}

TcpRelay::TcpRelay(int listen_fd, int port, int target_port)
    : listen_fd_(listen_fd), port_(port), target_port_(target_port) {}

TcpRelay::~TcpRelay() {
  stop_ = true;
  shutdown(listen_fd_, SHUT_RDWR);
  acceptor_.join();
  close(listen_fd_);
  std::vector<std::thread> threads;
  {
    absl::MutexLock lock(&mu_);
    for (const auto& link : links_) {
      if (link->client >= 0) shutdown(link->client, SHUT_RDWR);
      if (link->server >= 0) shutdown(link->server, SHUT_RDWR);
    }
    threads.swap(threads_);
  }
  for (std::thread& t : threads) t.join();
}

void TcpRelay::Partition() {
  partitioned_ = true;
  absl::MutexLock lock(&mu_);
  for (const auto& link : links_) link->silent = true;
}

void TcpRelay::Heal() { partitioned_ = false; }

void TcpRelay::CutAll() {
  absl::MutexLock lock(&mu_);
  for (const auto& link : links_) {
    link->cut = true;
    if (link->client >= 0) Reset(link->client);
    if (link->server >= 0) Reset(link->server);
  }
}

void TcpRelay::AcceptLoop() {
  while (!stop_) {
    const int client = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (client < 0) {
      if (stop_ || errno == EINVAL || errno == EBADF) return;
      continue;
    }
    ++accepted_;
    auto link = std::make_shared<Link>();
    link->client = client;
    // While partitioned, a new connection reaches nothing: accepted, then silent.
    link->silent = partitioned_.load();
    if (!link->silent) link->server = ConnectLoopback(target_port_);
    absl::MutexLock lock(&mu_);
    links_.push_back(link);
    threads_.emplace_back([this, link] { Pump(link); });
  }
}

void TcpRelay::Pump(std::shared_ptr<Link> link) {
  char buffer[65536];
  while (!stop_ && !link->cut) {
    pollfd fds[2] = {{link->client, POLLIN, 0}, {link->server, POLLIN, 0}};
    const int n = poll(fds, link->server >= 0 ? 2 : 1, 200);
    if (n < 0 && errno != EINTR) break;
    if (n <= 0) continue;
    bool closed = false;
    for (int i = 0; i < 2 && !closed; ++i) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      const ssize_t r = recv(fds[i].fd, buffer, sizeof buffer, 0);
      if (r <= 0) {
        closed = true;
        break;
      }
      if (link->silent) continue;  // dropped: a partition neither delivers nor resets
      const int to = i == 0 ? link->server : link->client;
      if (to < 0 || !WriteAll(to, buffer, r)) closed = true;
    }
    if (closed && !link->silent) break;
    if (closed) {
      // The far side went away during a partition: nothing tells the other side.
      while (!stop_ && !link->cut) usleep(100 * 1000);
    }
  }
  absl::MutexLock lock(&mu_);
  shutdown(link->client, SHUT_RDWR);
  close(link->client);
  link->client = -1;
  if (link->server >= 0) {
    shutdown(link->server, SHUT_RDWR);
    close(link->server);
    link->server = -1;
  }
}

}  // namespace pgcdc::testing
