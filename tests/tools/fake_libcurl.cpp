// SPDX-License-Identifier: Apache-2.0
// A stand-in for libcurl.so.4, for what a real libcurl cannot be made to do here: report an old
// version (FAKE_LIBCURL_VERSION, hex as in LIBCURL_VERSION_NUM, and FAKE_LIBCURL_VERSION_TEXT)
// or refuse one option (FAKE_LIBCURL_REFUSE, the option's number, as a libcurl built without it
// does). Loaded by pooljoin through LD_LIBRARY_PATH (tests/integration/libcurl_test.sh). It makes
// no connection: every transfer fails as one to a closed port.
#define CURL_DISABLE_TYPECHECK
#include <cstdarg>
#include <cstdlib>
#include <string>

#include <curl/curl.h>

namespace {

long env_number(const char* name, long fallback) {
  const char* text = std::getenv(name);
  return text && *text ? std::strtol(text, nullptr, 0) : fallback;
}

int handle_storage;  // what curl_easy_init hands out: any non-null address will do

}  // namespace

extern "C" {

CURLcode curl_global_init(long) {
  return CURLE_OK;
}

CURL* curl_easy_init() {
  return &handle_storage;
}

void curl_easy_cleanup(CURL*) {}

void curl_easy_reset(CURL*) {}

CURLcode curl_easy_setopt(CURL*, CURLoption option, ...) {
  return static_cast<long>(option) == env_number("FAKE_LIBCURL_REFUSE", -1) ? CURLE_UNKNOWN_OPTION
                                                                            : CURLE_OK;
}

CURLcode curl_easy_perform(CURL*) {
  return CURLE_COULDNT_CONNECT;
}

CURLcode curl_easy_getinfo(CURL*, CURLINFO, ...) {
  return CURLE_UNKNOWN_OPTION;
}

const char* curl_easy_strerror(CURLcode code) {
  switch (code) {
    case CURLE_UNKNOWN_OPTION:
      return "An unknown option was passed in to libcurl";
    case CURLE_COULDNT_CONNECT:
      return "Couldn't connect to server";
    default:
      return "fake libcurl error";
  }
}

curl_slist* curl_slist_append(curl_slist* list, const char*) {
  return list;
}

void curl_slist_free_all(curl_slist*) {}

curl_version_info_data* curl_version_info(CURLversion) {
  static curl_version_info_data info{};
  static std::string text;
  text = std::getenv("FAKE_LIBCURL_VERSION_TEXT") ? std::getenv("FAKE_LIBCURL_VERSION_TEXT")
                                                  : "7.88.1";
  info.age = CURLVERSION_NOW;
  info.version = text.c_str();
  info.version_num = static_cast<unsigned int>(env_number("FAKE_LIBCURL_VERSION", 0x075801));
  return &info;
}

}  // extern "C"
