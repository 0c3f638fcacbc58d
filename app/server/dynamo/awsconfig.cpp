#include "awsconfig.h"

#include <QDir>
#include <QFile>
#include <QHash>

#include <optional>

using namespace Qt::StringLiterals;

namespace parley::server::aws {

namespace {

using IniSection = QHash<QString, QString>; // lowercase key -> value
using IniFile = QHash<QString, IniSection>; // section name as written, trimmed

// A value ends at a '#' or ';' that follows whitespace (the SDKs' inline comments);
// secrets are base64-like, so they never contain such a sequence.
QString withoutInlineComment(const QString &value)
{
    for (qsizetype i = 1; i < value.size(); ++i) {
        if ((value[i] == u'#' || value[i] == u';') && value[i - 1].isSpace())
            return value.left(i).trimmed();
    }
    return value;
}

// The AWS shared config/credentials format, read tolerantly: "[section]", "key = value",
// full-line comments with '#' or ';', keys case-insensitive. An empty value followed by
// indented lines ("s3 =\n  max_concurrent_requests = 10") is a nested block of service
// settings, skipped so its keys cannot shadow the profile's own.
IniFile readIni(const QString &path)
{
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly | QIODevice::Text))
        return {};
    QString text = QString::fromUtf8(file.readAll());
    if (text.startsWith(QChar(0xFEFF)))
        text.remove(0, 1);

    IniFile result;
    std::optional<QString> section;
    bool inNestedBlock = false;
    for (const QString &rawLine : text.split(u'\n')) {
        const QString line = rawLine.trimmed();
        if (line.isEmpty() || line.startsWith(u'#') || line.startsWith(u';'))
            continue;
        const bool indented = rawLine.front().isSpace();
        if (indented && inNestedBlock)
            continue;
        inNestedBlock = false;
        if (line.startsWith(u'[')) {
            const qsizetype close = line.indexOf(u']');
            section = line.mid(1, close < 0 ? -1 : close - 1).trimmed();
            result[*section]; // an empty section still exists
            continue;
        }
        const qsizetype equals = line.indexOf(u'=');
        if (!section || equals < 0)
            continue;
        const QString value = withoutInlineComment(line.mid(equals + 1).trimmed());
        result[*section].insert(line.left(equals).trimmed().toLower(), value);
        inNestedBlock = value.isEmpty();
    }
    return result;
}

// The config file names a profile "[profile NAME]"; the default one may also be "[default]".
IniSection configProfile(const IniFile &config, const QString &profile)
{
    for (auto it = config.cbegin(); it != config.cend(); ++it) {
        const QString &name = it.key();
        if (name.startsWith(u"profile") && name.size() > 7 && name[7].isSpace()
            && name.mid(7).trimmed() == profile)
            return it.value();
    }
    return profile == u"default" ? config.value(u"default"_s) : IniSection();
}

// The file `variable` names (a leading ~ is the home), else `defaultPath` under the home.
QString awsFile(const QProcessEnvironment &environment, const QString &variable,
    const QString &homeDir, const QString &defaultPath)
{
    const QString named = environment.value(variable).trimmed();
    if (named.isEmpty())
        return QDir(homeDir).filePath(defaultPath);
    if (named == u"~" || named.startsWith(u"~/"))
        return homeDir + named.mid(1);
    return named;
}

struct Origin
{
    QString value;
    QString source;
};

std::optional<Origin> firstSet(const QProcessEnvironment &environment, const QStringList &names)
{
    for (const QString &name : names) {
        const QString value = environment.value(name).trimmed();
        if (!value.isEmpty())
            return Origin {value, name};
    }
    return std::nullopt;
}

// Credentials from one file section: both keys or neither.
std::variant<std::optional<Credentials>, QString> sectionCredentials(
    const IniSection &section, const QString &where)
{
    const QString key = section.value(u"aws_access_key_id"_s);
    const QString secret = section.value(u"aws_secret_access_key"_s);
    if (key.isEmpty() && secret.isEmpty())
        return std::optional<Credentials>();
    if (key.isEmpty() || secret.isEmpty()) {
        return u"%1 has %2 but no %3"_s.arg(where,
            key.isEmpty() ? u"aws_secret_access_key"_s : u"aws_access_key_id"_s,
            key.isEmpty() ? u"aws_access_key_id"_s : u"aws_secret_access_key"_s);
    }
    return std::optional<Credentials>(
        Credentials {key, secret, section.value(u"aws_session_token"_s)});
}

std::variant<QUrl, QString> resolveEndpoint(
    const QProcessEnvironment &environment, const QString &endpointOverride, const Origin &region)
{
    std::optional<Origin> endpoint;
    if (!endpointOverride.trimmed().isEmpty())
        endpoint = Origin {endpointOverride.trimmed(), u"--dynamodb-endpoint"_s};
    else
        endpoint = firstSet(environment, {u"AWS_ENDPOINT_URL_DYNAMODB"_s, u"AWS_ENDPOINT_URL"_s});

    if (!endpoint) {
        // China regions live under their own domain.
        const QString domain
            = region.value.startsWith(u"cn-") ? u"amazonaws.com.cn"_s : u"amazonaws.com"_s;
        const QUrl url(u"https://dynamodb.%1.%2"_s.arg(region.value, domain), QUrl::StrictMode);
        if (!url.isValid() || url.host().isEmpty())
            return u"AWS region \"%1\" (from %2) is not a valid region name such as us-east-1"_s
                .arg(region.value, region.source);
        return url;
    }
    const QUrl url(endpoint->value, QUrl::StrictMode);
    if (!url.isValid() || (url.scheme() != u"http" && url.scheme() != u"https")
        || url.host().isEmpty()) {
        return u"DynamoDB endpoint \"%1\" (from %2) is not an http:// or https:// URL with a host"_s
            .arg(endpoint->value, endpoint->source);
    }
    return url;
}

} // namespace

std::variant<AwsSettings, QString> resolveAwsSettings(
    const QProcessEnvironment &environment, const QString &homeDir, const QString &endpointOverride)
{
    AwsSettings settings;
    const QString profile = environment.value(u"AWS_PROFILE"_s).trimmed();
    settings.profile = profile.isEmpty() ? u"default"_s : profile;
    const QString credentialsPath
        = awsFile(environment, u"AWS_SHARED_CREDENTIALS_FILE"_s, homeDir, u".aws/credentials"_s);
    const QString configPath
        = awsFile(environment, u"AWS_CONFIG_FILE"_s, homeDir, u".aws/config"_s);
    const IniSection configSection = configProfile(readIni(configPath), settings.profile);
    const QString profileInConfig = u"profile \"%1\" in %2"_s.arg(settings.profile, configPath);

    // Region.
    std::optional<Origin> region
        = firstSet(environment, {u"AWS_REGION"_s, u"AWS_DEFAULT_REGION"_s});
    if (!region && !configSection.value(u"region"_s).isEmpty())
        region = Origin {configSection.value(u"region"_s), profileInConfig};
    if (!region) {
        return u"no AWS region: set AWS_REGION (or AWS_DEFAULT_REGION), or add \"region = ...\" to %1"_s
            .arg(profileInConfig);
    }
    settings.region = region->value;

    // Credentials: the environment, then the credentials file, then the config file.
    const QString envKey = environment.value(u"AWS_ACCESS_KEY_ID"_s).trimmed();
    const QString envSecret = environment.value(u"AWS_SECRET_ACCESS_KEY"_s).trimmed();
    if (!envKey.isEmpty() && !envSecret.isEmpty()) {
        settings.credentials
            = {envKey, envSecret, environment.value(u"AWS_SESSION_TOKEN"_s).trimmed()};
        settings.credentialsSource = u"environment"_s;
    } else if (!envKey.isEmpty() || !envSecret.isEmpty()) {
        return u"%1 is set but %2 is not: set both or neither"_s.arg(
            envKey.isEmpty() ? u"AWS_SECRET_ACCESS_KEY"_s : u"AWS_ACCESS_KEY_ID"_s,
            envKey.isEmpty() ? u"AWS_ACCESS_KEY_ID"_s : u"AWS_SECRET_ACCESS_KEY"_s);
    } else {
        const QString profileInCredentials
            = u"profile \"%1\" in %2"_s.arg(settings.profile, credentialsPath);
        const std::pair<IniSection, QString> candidates[] = {
            {readIni(credentialsPath).value(settings.profile), profileInCredentials},
            {configSection, profileInConfig},
        };
        for (const auto &[section, where] : candidates) {
            auto found = sectionCredentials(section, where);
            if (const QString *error = std::get_if<QString>(&found))
                return *error;
            if (const auto &credentials = std::get<std::optional<Credentials>>(found)) {
                settings.credentials = *credentials;
                settings.credentialsSource = where;
                break;
            }
        }
        if (!settings.credentials.isValid()) {
            return u"no AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or add "
                   u"aws_access_key_id and aws_secret_access_key to %1"_s.arg(profileInCredentials);
        }
    }

    auto endpoint = resolveEndpoint(environment, endpointOverride, *region);
    if (const QString *error = std::get_if<QString>(&endpoint))
        return *error;
    settings.endpoint = std::get<QUrl>(endpoint);
    return settings;
}

} // namespace parley::server::aws
