/* sigio_state_machine_wifi: sigio_state_machine over Wi-Fi. The second code
 * sample of the Mbed OS "Network socket overview"
 * documentation page, verbatim, with its EthernetInterface
 * being the ESP8266Interface (the glue's #define below; credentials
 * "vboard"/"vboard-secret" at compile time): a non-blocking
 * TCPSocket driven by sigio events on mbed_event_queue(), main waiting on
 * EventFlags. The glue defines what the sample leaves to the reader (QUERY,
 * QUERY_LEN, my_buffer, remaining_len), prints what was received and exits.
 * On vboard a test answers api.ipify.org (--dns-record api.ipify.org=10.0.2.2)
 * from a host HTTP server on port 80. */
#include "mbed.h"
#include "ESP8266Interface.h"

/* glue: the interface swap; every ESP8266Interface drives the one module. */
#define EthernetInterface ESP8266Interface
#define APP_NAME "sigio_state_machine_wifi"

#include "../sigio_state_machine/main.cpp"
