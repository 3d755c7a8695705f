/* sigio_state_machine: the second code sample of the Mbed OS "Network socket
 * overview" documentation page, verbatim: a non-blocking
 * TCPSocket driven by sigio events on mbed_event_queue(), main waiting on
 * EventFlags. The glue defines what the sample leaves to the reader (QUERY,
 * QUERY_LEN, my_buffer, remaining_len), prints what was received and exits.
 * On vboard a test answers api.ipify.org (--dns-record api.ipify.org=10.0.2.2)
 * from a host HTTP server on port 80. */
#include <string.h>

#include "mbed.h"

#ifndef APP_NAME
#define APP_NAME "sigio_state_machine" /* the prefix of every line this program prints */
#endif

static const char QUERY[] = "GET / HTTP/1.1\r\nHost: api.ipify.org\r\nConnection: close\r\n\r\n";
#define QUERY_LEN (sizeof(QUERY) - 1)
static char my_buffer[1024];
static const nsapi_size_t remaining_len = sizeof(my_buffer) - 1;

/* glue: the sample's `int main() {` becomes `void sigio_sample_main() {`
 * (plus an unused declaration), so that the glue's own main() can print the
 * result after the sample returns. The sample's text is unchanged. */
#define main()                                                                                                         \
    sample_main_unused();                                                                                              \
    void sigio_sample_main()

/* The sample falls through from CONNECTING into SEND on purpose. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wimplicit-fallthrough"
/* ---- seed sample 2, verbatim ---- */
nsapi_size_or_error_t send_query(TCPSocket *socket) {
    return socket->send(QUERY, QUERY_LEN);
}

nsapi_size_or_error_t receive_data(TCPSocket *socket) {
    // Simplified example, does not properly handle streaming and appending to buffer
    return socket->recv(my_buffer, remaining_len);
}

void handle_socket_sigio(EventFlags *evt, TCPSocket *socket)
{
    static enum {
        CONNECTING,
        SEND,
        RECEIVE,
        CLOSE,
    } next_state = CONNECTING;

    switch (next_state) {
        case CONNECTING:
            switch(socket->connect("api.ipify.org", 80)) {
                case NSAPI_ERROR_IN_PROGRESS:
                    // Connecting to server
                    break;
                case NSAPI_ERROR_ALREADY:
                    // Now connected to server
                    next_state = SEND;
                    break;
                default:
                    // Error in connection phase
                    next_state = CLOSE;
            }
        case SEND:
            if (send_query(socket) > 0)
                next_state = RECEIVE;
            else
                next_state = CLOSE; // Error
            break;
        case RECEIVE:
            if (receive_data(socket) == NSAPI_ERROR_WOULD_BLOCK)
                break;
            next_state = CLOSE;
            break;
        case CLOSE:
            socket->close();
            evt->set(1); // Signal the main thread
            break;
    }
}

int main() {
    EthernetInterface net;
    net.connect();

    TCPSocket socket;
    socket.open(&net);

    EventFlags completed;
    EventQueue *queue = mbed_event_queue();

    Event<void()> handler = queue->event(handle_socket_sigio, &completed, &socket);

    socket.set_blocking(false);
    socket.sigio(handler);
    handler();                   // Kick the state machine to start connecting

    completed.wait_any(1);
}
/* ---- end of sample ---- */
#pragma GCC diagnostic pop

#undef main

int main()
{
    printf(APP_NAME ": start\n");
    sigio_sample_main();
    size_t n = strlen(my_buffer);
    printf(APP_NAME ": received %u bytes\n", (unsigned)n);
    printf("---- response ----\n%s\n---- end ----\n", my_buffer);
    bool ok = n >= 5 && memcmp(my_buffer, "HTTP/", 5) == 0;
    printf(APP_NAME ": %s\n", ok ? "done" : "FAIL no HTTP response");
    return ok ? 0 : 1;
}
