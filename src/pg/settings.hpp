// Values of the vtj.* GUCs (defined in fdw_routine.cpp, register_settings()).
#pragma once

namespace vtj::pg {

extern char *setting_loppukayttaja;
extern char *setting_kayttotarkoitus;
extern bool setting_salli_poisto;

}  // namespace vtj::pg
