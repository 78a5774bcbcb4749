// fake_http.cpp: what the fake HttpClient answers (set by the test before each scan).
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "core/http.hpp"
#include "fuzz_common.hpp"

namespace fuzz {

struct FakeAnswers {
    std::vector<std::string> bodies;   // answered in turn, cycling
    std::size_t next = 0;
    std::vector<std::string> requests;  // the request bodies received
    static FakeAnswers &get()
    {
        static FakeAnswers a;
        return a;
    }
    void reset(std::vector<std::string> b)
    {
        bodies = std::move(b);
        next = 0;
        requests.clear();
    }
};

}  // namespace fuzz
