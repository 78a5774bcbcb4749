// A one-byte heap overflow, built with the same g++ -fsanitize=address,undefined as the
// extension and run with the server's sanitizer environment: test/run --only sanitize checks
// that its report lands in the log directory and is found by the same search as the server's
// (a collection that silently stopped working would otherwise pass every run).
#include <cstdio>
#include <cstring>

int main(int argc, char **)
{
    char *p = new char[8];
    std::memset(p, 'x', 8 + static_cast<unsigned>(argc));  // argc is 1: writes p[8]
    std::printf("%c\n", p[0]);
    delete[] p;
    return 0;
}
