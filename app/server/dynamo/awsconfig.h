// Where a DynamoDB store finds its region, credentials and endpoint: the standard AWS
// sources, in the SDKs' order of precedence.
//   region:      AWS_REGION, AWS_DEFAULT_REGION, then `region` of the profile in the
//                config file
//   credentials: AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY (+ AWS_SESSION_TOKEN), then
//                the profile in the credentials file, then in the config file
//   profile:     AWS_PROFILE, else "default"; files: AWS_SHARED_CREDENTIALS_FILE
//                (~/.aws/credentials) and AWS_CONFIG_FILE (~/.aws/config, sections
//                "[profile NAME]" and "[default]")
//   endpoint:    --dynamodb-endpoint, AWS_ENDPOINT_URL_DYNAMODB, AWS_ENDPOINT_URL, else
//                https://dynamodb.REGION.amazonaws.com
#pragma once

#include "sigv4.h"

#include <QProcessEnvironment>
#include <QString>
#include <QUrl>

#include <variant>

namespace parley::server::aws {

struct AwsSettings
{
    QString region;
    Credentials credentials;
    QUrl endpoint;
    QString profile;
    QString credentialsSource; // "environment", "credentials file (profile x)", ... for logs
};

// endpointOverride: the --dynamodb-endpoint flag (may be empty). homeDir: for ~/.aws.
// Returns the settings, or a one-line error naming what is missing.
std::variant<AwsSettings, QString> resolveAwsSettings(const QProcessEnvironment &environment,
    const QString &homeDir, const QString &endpointOverride);

} // namespace parley::server::aws
