*** Settings ***
Documentation     TCPServer accepting host connections: http_server's page and JSON /status fetched from the
...               host through a port forward (a free host port to the board's 80), a 404, then /quit.
...
...               Each test first waits out the board's TIME_WAIT (VNET_TCP_TIME_WAIT_MS, 2 s): the server
...               closes first, each closed connection keeps one of vnet's two TCP buffer sets
...               (VNET_TCP_BUFSETS) until TIME_WAIT ends, and a SYN arriving meanwhile is dropped without
...               an answer, and the user backend sends it again only seconds later (TCP's SYN retry).
Resource          resources/network.resource
Suite Setup       Start Http Server Board
Test Setup        Let The Board Close The Previous Connection
Test Timeout      2 minutes


*** Test Cases ***
Index Page Is Served
    ${r}=    Http Get    ${BASE}/
    Should Be Equal As Integers    ${r}[status]    200
    Should Be Equal    ${r}[headers][content-type]    text/html
    Should Contain    ${r}[body]    <h1>vboard MPS2-AN385</h1>
    Should End With    ${r}[body]    </html>\n
    Wait For Line On Uart    http_server: 10.0.2.2 GET /    timeout=5s

Status Is Json
    ${r}=    Http Get    ${BASE}/status
    Should Be Equal As Integers    ${r}[status]    200
    Should Be Equal    ${r}[headers][content-type]    application/json
    Should Be Equal    ${r}[json][board]    mps2-an385
    Should Be Equal    ${r}[json][ip]    10.0.2.15
    Should Be Equal As Integers    ${r}[json][requests]    2
    Should Be True    ${r}[json][uptime_ms] > 0
    Wait For Line On Uart    http_server: 10.0.2.2 GET /status    timeout=5s

Unknown Path Is 404
    ${r}=    Http Get    ${BASE}/nope
    Should Be Equal As Integers    ${r}[status]    404
    Should Be Equal    ${r}[body]    not found\n

Quit Ends The Server
    ${r}=    Http Get    ${BASE}/quit
    Should Be Equal    ${r}[body]    bye\n
    Wait For Line On Uart    http_server: done (4 requests)    timeout=10s
    Board Should Have Exited    0


*** Keywords ***
Start Http Server Board
    ${port}=    Get Free Port
    VAR    ${BASE}    http://127.0.0.1:${port}    scope=SUITE
    Start Networked Board    http_server    forwards=tcp:${port}:80
    Wait For Line On Uart    http_server: listening on http://10.0.2.15:80/    timeout=30s
    Start Emulation

Let The Board Close The Previous Connection
    Sleep    2.5s
