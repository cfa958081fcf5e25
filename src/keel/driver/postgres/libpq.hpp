// driver/postgres/libpq.hpp — libpq, loaded the first time PostgreSQL is used. Internal.
//
// Linking libpq makes every process that links keel load it at start-up, and with
// it some 25 libraries (Kerberos, LDAP, SASL, GnuTLS…) and their constructors:
// about 3 ms per start on a small VM, paid by SQLite-only applications too. So keel
// links none of it and calls libpq through this table, filled by dlopen() on first
// use. It is written by hand because no Debian package does lazy binding of libpq;
// <libpq-fe.h> still gives every type, so the compiler checks each call.
//
// Call sites say `libpq().PQsendQuery(…)`. Every PGconn and PGresult comes through this
// table, so code holding one can call libpq() without it throwing (noexcept paths).
#pragma once

#include <libpq-fe.h>

namespace keel::driver::pg {

// The libpq functions keel calls, named as in libpq. The members have no default
// so that a function missing from load_libpq() is a compile warning.
struct Libpq {
  // Connecting and the connection's state.
  decltype(&::PQconnectStartParams) PQconnectStartParams;
  decltype(&::PQconnectPoll) PQconnectPoll;
  decltype(&::PQstatus) PQstatus;
  decltype(&::PQsocket) PQsocket;
  decltype(&::PQerrorMessage) PQerrorMessage;
  decltype(&::PQparameterStatus) PQparameterStatus;
  decltype(&::PQtransactionStatus) PQtransactionStatus;
  decltype(&::PQsetNoticeReceiver) PQsetNoticeReceiver;
  decltype(&::PQsetnonblocking) PQsetnonblocking;
  decltype(&::PQfinish) PQfinish;
  // Sending statements and reading results.
  decltype(&::PQsendQuery) PQsendQuery;
  decltype(&::PQsendPrepare) PQsendPrepare;
  decltype(&::PQsendQueryPrepared) PQsendQueryPrepared;
  decltype(&::PQsendQueryParams) PQsendQueryParams;
  decltype(&::PQsetSingleRowMode) PQsetSingleRowMode;
  decltype(&::PQflush) PQflush;
  decltype(&::PQconsumeInput) PQconsumeInput;
  decltype(&::PQisBusy) PQisBusy;
  decltype(&::PQgetResult) PQgetResult;
  decltype(&::PQgetCancel) PQgetCancel;
  decltype(&::PQcancel) PQcancel;
  decltype(&::PQfreeCancel) PQfreeCancel;
  // A result.
  decltype(&::PQresultStatus) PQresultStatus;
  decltype(&::PQresultErrorField) PQresultErrorField;
  decltype(&::PQresultErrorMessage) PQresultErrorMessage;
  decltype(&::PQcmdStatus) PQcmdStatus;
  decltype(&::PQcmdTuples) PQcmdTuples;
  decltype(&::PQntuples) PQntuples;
  decltype(&::PQnfields) PQnfields;
  decltype(&::PQfname) PQfname;
  decltype(&::PQftype) PQftype;
  decltype(&::PQgetisnull) PQgetisnull;
  decltype(&::PQgetvalue) PQgetvalue;
  decltype(&::PQgetlength) PQgetlength;
  decltype(&::PQclear) PQclear;
  // COPY.
  decltype(&::PQputCopyData) PQputCopyData;
  decltype(&::PQputCopyEnd) PQputCopyEnd;
  decltype(&::PQgetCopyData) PQgetCopyData;
  decltype(&::PQfreemem) PQfreemem;
};

// Opens the shared library `file` and binds every function of Libpq; throws
// ConnectionError naming the file, the missing symbol if any, and the package that
// provides libpq. The library stays loaded for the life of the process.
Libpq load_libpq(const char* file);

// The process's libpq, loaded on the first call (thread-safe; a failed load is
// retried on the next call).
inline const Libpq& libpq() {
  static const Libpq table = load_libpq("libpq.so.5");
  return table;
}

}  // namespace keel::driver::pg
