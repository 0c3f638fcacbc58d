# Unit tests of the server's HTTP front, metrics registry, rate limiter and abuse limits.
# Included from tests/server/CMakeLists.txt.
parley_add_test(tst_httprequestparser SOURCES tst_httprequestparser.cpp LIBS parley_server LABELS server)
parley_add_test(tst_metrics SOURCES tst_metrics.cpp LIBS parley_server LABELS server)
parley_add_test(tst_tokenbucket SOURCES tst_tokenbucket.cpp LIBS parley_server LABELS server)
parley_add_test(tst_abuseguard SOURCES tst_abuseguard.cpp LIBS parley_server LABELS server)
