#include "util/result.h"

#include <cstring>

namespace ktstr {

std::string Error::message() const { return message_; }

Error&& Error::context(const std::string& what) && {
  message_ = what + ": " + message_;
  return std::move(*this);
}

Error& Error::context(const std::string& what) & {
  message_ = what + ": " + message_;
  return *this;
}

Error invalid_argument(std::string message) {
  return Error(Errc::kInvalidArgument, std::move(message));
}
Error not_found(std::string message) { return Error(Errc::kNotFound, std::move(message)); }
Error io_error(std::string message) {
  int e = errno;
  return Error(Errc::kIo, message + ": " + std::strerror(e), e);
}
Error protocol_error(std::string message) {
  return Error(Errc::kProtocol, std::move(message));
}
Error timeout_error(std::string message) { return Error(Errc::kTimeout, std::move(message)); }
Error unavailable(std::string message) { return Error(Errc::kUnavailable, std::move(message)); }

}  // namespace ktstr
