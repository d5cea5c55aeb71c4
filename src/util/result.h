// Result<T>: the one error-carrying return type of ktstr.
//
// Library code returns Result<T>; only main() turns an Error into an exit
// code. An Error has a code, a one-line message, an errno where relevant,
// and context frames added while the error propagates ("loading kernel: ").
#pragma once

#include <cerrno>
#include <string>
#include <utility>
#include <variant>

namespace ktstr {

enum class Errc {
  kInvalidArgument,  // bad user input: a field, a file, a flag
  kNotFound,
  kIo,               // a syscall or file operation failed
  kProtocol,         // malformed data from an untrusted peer
  kTimeout,
  kUnavailable,      // a needed facility is missing (KVM, cgroup v2, ...)
  kFailed,           // a run or check failed
  kInternal,
};

class Error {
 public:
  Error(Errc code, std::string message, int sys_errno = 0)
      : code_(code), message_(std::move(message)), errno_(sys_errno) {}

  Errc code() const { return code_; }
  int sys_errno() const { return errno_; }
  // The full one-line message, context first.
  std::string message() const;

  // Prefixes context: Error("x").context("reading foo") -> "reading foo: x".
  Error&& context(const std::string& what) &&;
  Error& context(const std::string& what) &;

 private:
  Errc code_;
  std::string message_;
  int errno_;
};

Error invalid_argument(std::string message);
Error not_found(std::string message);
Error io_error(std::string message);  // appends strerror(errno)
Error protocol_error(std::string message);
Error timeout_error(std::string message);
Error unavailable(std::string message);

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Error error) : v_(std::move(error)) {}  // NOLINT

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  const Error& error() const& { return std::get<1>(v_); }
  Error&& error() && { return std::get<1>(std::move(v_)); }

 private:
  std::variant<T, Error> v_;
};

struct Ok {};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : err_(std::move(error)), ok_(false) {}  // NOLINT
  bool ok() const { return ok_; }
  explicit operator bool() const { return ok_; }
  const Error& error() const& { return err_; }
  Error&& error() && { return std::move(err_); }

 private:
  Error err_{Errc::kInternal, ""};
  bool ok_ = true;
};

using Status = Result<void>;

}  // namespace ktstr

// Propagate an error, optionally adding context:
//   KTSTR_TRY(write_all(fd, data), "writing frame");
#define KTSTR_TRY(expr, ...)                                          \
  do {                                                                \
    auto ktstr_try_r_ = (expr);                                       \
    if (!ktstr_try_r_.ok())                                           \
      return std::move(ktstr_try_r_).error() __VA_OPT__(.context(__VA_ARGS__)); \
  } while (0)

// Declare `var` from a Result<T>, propagating the error:
//   KTSTR_ASSIGN(auto fd, open_file(path), "opening config");
#define KTSTR_CONCAT_INNER_(a, b) a##b
#define KTSTR_CONCAT_(a, b) KTSTR_CONCAT_INNER_(a, b)
#define KTSTR_ASSIGN(decl, expr, ...) \
  KTSTR_ASSIGN_IMPL_(KTSTR_CONCAT_(ktstr_assign_r_, __LINE__), decl, expr __VA_OPT__(,) __VA_ARGS__)
#define KTSTR_ASSIGN_IMPL_(tmp, decl, expr, ...)                      \
  auto tmp = (expr);                                                  \
  if (!tmp.ok()) return std::move(tmp).error() __VA_OPT__(.context(__VA_ARGS__)); \
  decl = std::move(tmp).value()
