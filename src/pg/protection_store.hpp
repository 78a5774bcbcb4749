// What muutokset scans of this backend learned about persons' protection, kept until it is
// read: vtj_internal.protection_facts_read(), vtj_internal.reset_protection_facts().
//
// The core's Scan tells each decoded /muutokset page's facts (ScanSpec::on_protection) before
// anything of the page is checked or returned; they are merged here by hetu (the flags ORed,
// the TURVAKIELTO records appended in the order read). A scan that fails later — a malformed
// page, a cancel, an error in the statement that reads it — leaves them here, and a subtransaction
// rollback does not touch them: the mirror's change run, catching its failure, still purges what
// it must. Only persons with a withheld group or a TURVAKIELTO record are kept. Cleared at the end
// of every top-level transaction (commit, abort, prepare). Plain C++ memory of the backend, never
// written anywhere; a hetu kept here is never printed.
#pragma once

#include <string_view>

#include "core/scan.hpp"

namespace vtj::pg {

// C++ only (no PostgreSQL call): may throw std::bad_alloc.
void protection_store_add(std::string_view hetu, const vtj::PersonProtection &facts);

// Registers the transaction callback that clears the store (from _PG_init).
void register_protection_store();

}  // namespace vtj::pg
