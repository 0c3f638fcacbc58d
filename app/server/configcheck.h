// `parley server --check-config`: what can be checked of a parsed configuration without
// serving. Reads files and the environment; opens no store, binds no port, connects to
// nothing.
#pragma once

#include "serverconfig.h"

#include <QProcessEnvironment>
#include <QStringList>

namespace parley::server {

struct ConfigCheck
{
    QStringList errors; // one line each; empty: the configuration is usable
    QStringList summary; // "label: value" lines, without passwords or keys
};

// `config` has passed parseServerConfig() (and so validateServerConfig()). Checks the
// data directory (sqlite: exists or can be created, writable), the AWS region, credentials
// and endpoint (dynamodb) as the store would resolve them from `environment` and
// `homeDir`, and describes the TLS certificate and the Redis URL.
ConfigCheck checkServerConfig(
    const ServerConfig &config, const QProcessEnvironment &environment, const QString &homeDir);

// Why a store could not use `dir` as its data directory; empty if it can. Creates nothing
// that stays: a probe file in the directory, or in its nearest existing ancestor when the
// directory is still to be created, is removed at once.
QString dataDirProblem(const QString &dir);

} // namespace parley::server
