// Binding libpq at run time: dlopen() once, dlsym() each function of the table.
#include "driver/postgres/libpq.hpp"

#include <dlfcn.h>

#include <fmt/format.h>

#include <string>

#include "keel/error.hpp"

namespace keel::driver::pg {

namespace {

// What to tell an operator whose machine lacks libpq.
std::string needs_libpq(const char* file, const char* reason) {
  return fmt::format("PostgreSQL support needs libpq ({}, Debian package libpq5): {}", file,
                     reason != nullptr ? reason : "unknown dlopen() error");
}

// One library's symbols; each converts to the member's function pointer type.
class Symbols {
 public:
  Symbols(void* handle, const char* file) : handle_(handle), file_(file) {}

  struct Symbol {
    void* address;
    template <class F>
    operator F*() const noexcept {
      return reinterpret_cast<F*>(address);
    }
  };

  Symbol operator()(const char* name) const {
    dlerror();  // clear any earlier error
    void* address = dlsym(handle_, name);
    if (address == nullptr) {
      std::string reason = fmt::format("{} has no function {}", file_, name);
      if (const char* error = dlerror()) reason = error;
      dlclose(handle_);
      throw_database_error(ErrorKind::connection, needs_libpq(file_, reason.c_str()));
    }
    return Symbol{address};
  }

 private:
  void* handle_;
  const char* file_;
};

}  // namespace

Libpq load_libpq(const char* file) {
  // RTLD_LOCAL: libpq's symbols serve this table only, and cannot interpose on an
  // application's own (or another libpq version's) symbols.
  void* handle = dlopen(file, RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) throw_database_error(ErrorKind::connection, needs_libpq(file, dlerror()));
  Symbols sym(handle, file);
  return Libpq{
      .PQconnectStartParams = sym("PQconnectStartParams"),
      .PQconnectPoll = sym("PQconnectPoll"),
      .PQstatus = sym("PQstatus"),
      .PQsocket = sym("PQsocket"),
      .PQerrorMessage = sym("PQerrorMessage"),
      .PQparameterStatus = sym("PQparameterStatus"),
      .PQtransactionStatus = sym("PQtransactionStatus"),
      .PQsetNoticeReceiver = sym("PQsetNoticeReceiver"),
      .PQsetnonblocking = sym("PQsetnonblocking"),
      .PQfinish = sym("PQfinish"),
      .PQsendQuery = sym("PQsendQuery"),
      .PQsendPrepare = sym("PQsendPrepare"),
      .PQsendQueryPrepared = sym("PQsendQueryPrepared"),
      .PQsendQueryParams = sym("PQsendQueryParams"),
      .PQsetSingleRowMode = sym("PQsetSingleRowMode"),
      .PQflush = sym("PQflush"),
      .PQconsumeInput = sym("PQconsumeInput"),
      .PQisBusy = sym("PQisBusy"),
      .PQgetResult = sym("PQgetResult"),
      .PQgetCancel = sym("PQgetCancel"),
      .PQcancel = sym("PQcancel"),
      .PQfreeCancel = sym("PQfreeCancel"),
      .PQresultStatus = sym("PQresultStatus"),
      .PQresultErrorField = sym("PQresultErrorField"),
      .PQresultErrorMessage = sym("PQresultErrorMessage"),
      .PQcmdStatus = sym("PQcmdStatus"),
      .PQcmdTuples = sym("PQcmdTuples"),
      .PQntuples = sym("PQntuples"),
      .PQnfields = sym("PQnfields"),
      .PQfname = sym("PQfname"),
      .PQftype = sym("PQftype"),
      .PQgetisnull = sym("PQgetisnull"),
      .PQgetvalue = sym("PQgetvalue"),
      .PQgetlength = sym("PQgetlength"),
      .PQclear = sym("PQclear"),
      .PQputCopyData = sym("PQputCopyData"),
      .PQputCopyEnd = sym("PQputCopyEnd"),
      .PQgetCopyData = sym("PQgetCopyData"),
      .PQfreemem = sym("PQfreemem"),
  };
}

}  // namespace keel::driver::pg
