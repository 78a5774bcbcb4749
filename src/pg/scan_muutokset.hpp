// The executor of the change interface's record tables: muutokset (POST /muutokset, a window of
// changes), perustiedot and perustiedot_ryhmittain (POST /perustiedot). Rows are streamed from
// the core's Scan (core/scan.hpp) and converted to Datums.
#pragma once

#include <cstdint>

namespace vtj::pg {

// The bookmark up to which the last complete muutokset scan of this backend brought every
// batch (vtj.viimeisin_kirjausavain()); false when there was none.
bool last_final_bookmark(std::int64_t *bookmark);

}  // namespace vtj::pg
