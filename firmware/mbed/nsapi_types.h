/* nsapi types (Mbed OS 6 connectivity/netsocket/include/netsocket/nsapi_types.h, IPv4 subset).
 * Error values equal vnet's (net/vnet.h), so the C++ layer passes them through. */
#ifndef MBED_NSAPI_TYPES_H
#define MBED_NSAPI_TYPES_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

enum nsapi_error {
    NSAPI_ERROR_OK = 0,
    NSAPI_ERROR_WOULD_BLOCK = -3001,
    NSAPI_ERROR_UNSUPPORTED = -3002,
    NSAPI_ERROR_PARAMETER = -3003,
    NSAPI_ERROR_NO_CONNECTION = -3004,
    NSAPI_ERROR_NO_SOCKET = -3005,
    NSAPI_ERROR_NO_ADDRESS = -3006,
    NSAPI_ERROR_NO_MEMORY = -3007,
    NSAPI_ERROR_NO_SSID = -3008,
    NSAPI_ERROR_DNS_FAILURE = -3009,
    NSAPI_ERROR_DHCP_FAILURE = -3010,
    NSAPI_ERROR_AUTH_FAILURE = -3011,
    NSAPI_ERROR_DEVICE_ERROR = -3012,
    NSAPI_ERROR_IN_PROGRESS = -3013,
    NSAPI_ERROR_ALREADY = -3014,
    NSAPI_ERROR_IS_CONNECTED = -3015,
    NSAPI_ERROR_CONNECTION_LOST = -3016,
    NSAPI_ERROR_CONNECTION_TIMEOUT = -3017,
    NSAPI_ERROR_ADDRESS_IN_USE = -3018,
    NSAPI_ERROR_TIMEOUT = -3019,
    NSAPI_ERROR_BUSY = -3020,
};

typedef signed int nsapi_error_t;
typedef unsigned int nsapi_size_t;
typedef signed int nsapi_size_or_error_t;
typedef signed int nsapi_value_or_error_t;

typedef enum nsapi_connection_status {
    NSAPI_STATUS_LOCAL_UP = 0,
    NSAPI_STATUS_GLOBAL_UP = 1,
    NSAPI_STATUS_DISCONNECTED = 2,
    NSAPI_STATUS_CONNECTING = 3,
    NSAPI_STATUS_ERROR_UNSUPPORTED = NSAPI_ERROR_UNSUPPORTED
} nsapi_connection_status_t;

typedef enum nsapi_event {
    NSAPI_EVENT_CONNECTION_STATUS_CHANGE = 0,
    NSAPI_EVENT_CELLULAR_STATUS_BASE = 0x1000,
    NSAPI_EVENT_CELLULAR_STATUS_END = 0x1FFF
} nsapi_event_t;

typedef enum nsapi_security {
    NSAPI_SECURITY_NONE = 0x0,
    NSAPI_SECURITY_WEP = 0x1,
    NSAPI_SECURITY_WPA = 0x2,
    NSAPI_SECURITY_WPA2 = 0x3,
    NSAPI_SECURITY_WPA_WPA2 = 0x4,
    NSAPI_SECURITY_PAP = 0x5,
    NSAPI_SECURITY_CHAP = 0x6,
    NSAPI_SECURITY_EAP_TLS = 0x7,
    NSAPI_SECURITY_PEAP = 0x8,
    NSAPI_SECURITY_WPA2_ENT = 0x9,
    NSAPI_SECURITY_WPA3 = 0xA,
    NSAPI_SECURITY_WPA3_WPA2 = 0xB,
    NSAPI_SECURITY_UNKNOWN = 0xFF,
} nsapi_security_t;

#define NSAPI_IPv4_SIZE 4
#define NSAPI_IPv4_BYTES 4
#define NSAPI_IPv6_SIZE 16
#define NSAPI_IPv6_BYTES 16
#define NSAPI_IP_SIZE NSAPI_IPv6_SIZE
#define NSAPI_IP_BYTES NSAPI_IPv6_BYTES
#define NSAPI_MAC_SIZE 18
#define NSAPI_MAC_BYTES 6
#define NSAPI_INTERFACE_NAME_MAX_SIZE 6

typedef enum nsapi_version {
    NSAPI_UNSPEC,
    NSAPI_IPv4,
    NSAPI_IPv6,
} nsapi_version_t;

typedef struct nsapi_addr {
    nsapi_version_t version;
    uint8_t bytes[NSAPI_IP_BYTES];
} nsapi_addr_t;

typedef enum nsapi_protocol {
    NSAPI_TCP,
    NSAPI_UDP,
    NSAPI_ICMP,
} nsapi_protocol_t;

typedef enum nsapi_socket_level {
    NSAPI_SOCKET = 7000,
} nsapi_socket_level_t;

typedef enum nsapi_socket_option {
    NSAPI_REUSEADDR,
    NSAPI_KEEPALIVE,
    NSAPI_KEEPIDLE,
    NSAPI_KEEPINTVL,
    NSAPI_LINGER,
    NSAPI_SNDBUF,
    NSAPI_RCVBUF,
    NSAPI_ADD_MEMBERSHIP,
    NSAPI_DROP_MEMBERSHIP,
    NSAPI_BIND_TO_DEVICE,
    NSAPI_LATENCY,
    NSAPI_STAGGER,
    NSAPI_IPTOS,
    NSAPI_BROADCAST,
    NSAPI_PKTINFO,
} nsapi_socket_option_t;

typedef enum nsapi_tlssocket_level {
    NSAPI_TLSSOCKET_LEVEL = 7099,
} nsapi_tlssocket_level_t;

typedef struct nsapi_linger {
    uint8_t l_onoff;
    int l_linger;
} nsapi_linger_t;

/* Mbed's socket handle type (opaque). */
typedef void *nsapi_socket_t;

#ifdef __cplusplus
}
#endif

#endif
