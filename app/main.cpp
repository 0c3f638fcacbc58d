// The parley executable only picks the mode and hands over.
#include "servermain.h"

#include <QString>
#include <QStringList>

#include <cstdio>
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
        return parley::server::runServer(argc, argv, arguments);
    }
    if (std::strcmp(mode, "--help") == 0 || std::strcmp(mode, "-h") == 0 || argc == 1) {
        std::fputs(Usage, stdout);
        return 0;
    }
    std::fprintf(stderr, "parley: unknown mode '%s'\n\n%s", mode, Usage);
    return 2;
}
