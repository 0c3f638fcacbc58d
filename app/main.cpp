// The parley executable only picks the mode and hands over.
#include "servermain.h"

#include <QString>
#include <QStringList>

#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace {

const char Usage[] = "Usage: parley [MODE] [options]\n"
                     "\n"
                     "Modes:\n"
                     "  server     run a chat server node (parley server --help)\n"
                     "  swarm      drive simulated users against a server (coming soon)\n"
                     "  (none)     the desktop client (coming soon)\n"
                     "\n"
                     "  --version  print the version\n"
                     "  --help     print this help\n";

} // namespace

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "";
    if (std::strcmp(mode, "--version") == 0 || std::strcmp(mode, "-v") == 0) {
        std::printf("parley %s\n", PARLEY_VERSION);
        return 0;
    }
    if (std::strcmp(mode, "server") == 0) {
        QStringList arguments;
        for (int i = 2; i < argc; ++i)
            arguments.append(QString::fromLocal8Bit(argv[i]));
        const int rc = parley::server::runServer(argc, argv, arguments);
        // Everything is flushed and closed by now. Skip the C library's exit handlers:
        // QThread::wait() returns before a finished thread's own libc clean-up ends, and
        // OpenSSL's atexit clean-up racing with it corrupted the heap (seen once in ~20
        // runs of tst_server's flood test as "malloc_consolidate(): invalid chunk size").
        std::fflush(stdout);
        std::fflush(stderr);
        std::_Exit(rc);
    }
    if (std::strcmp(mode, "--help") == 0 || std::strcmp(mode, "-h") == 0 || argc == 1) {
        std::fputs(Usage, stdout);
        return 0;
    }
    std::fprintf(stderr, "parley: unknown mode '%s'\n\n%s", mode, Usage);
    return 2;
}
