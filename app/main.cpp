// The parley executable only picks the mode and hands over.
#include "servermain.h"
#include "swarmmain.h"
#ifdef PARLEY_GUI
#include "desktopmain.h"
#endif

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
                     "  swarm      drive simulated users against a server (parley swarm --help)\n"
                     "  (none)     the desktop client (parley --help-client for its options,\n"
                     "             e.g. --profile NAME to run several accounts side by side)\n"
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
    const bool server = std::strcmp(mode, "server") == 0;
    if (server || std::strcmp(mode, "swarm") == 0) {
        QStringList arguments;
        for (int i = 2; i < argc; ++i)
            arguments.append(QString::fromLocal8Bit(argv[i]));
        const int rc = server ? parley::server::runServer(argc, argv, arguments)
                              : parley::swarm::runSwarm(argc, argv, arguments);
        // Everything is flushed and closed by now. Skip the C library's exit handlers:
        // QThread::wait() returns before a finished thread's own libc clean-up ends, and
        // OpenSSL's atexit clean-up racing with it corrupted the heap (seen once in ~20
        // runs of tst_server's flood test as "malloc_consolidate(): invalid chunk size").
        std::fflush(stdout);
        std::fflush(stderr);
        std::_Exit(rc);
    }
    if (std::strcmp(mode, "--help") == 0 || std::strcmp(mode, "-h") == 0) {
        std::fputs(Usage, stdout);
        return 0;
    }
    // No mode (nothing, or the client's own options): the desktop client.
    if (argc == 1 || mode[0] == '-') {
#ifdef PARLEY_GUI
        if (std::strcmp(mode, "--help-client") == 0)
            argv[1] = const_cast<char *>("--help");
        return parley::ui::runDesktop(argc, argv);
#else
        std::fputs(
            "parley: this build has no desktop client (built with PARLEY_GUI=OFF)\n\n", stderr);
        std::fputs(Usage, stderr);
        return 2;
#endif
    }
    std::fprintf(stderr, "parley: unknown mode '%s'\n\n%s", mode, Usage);
    return 2;
}
