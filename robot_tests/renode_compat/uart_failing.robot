*** Variables ***
${UART}                       sysbus.uart0
${BIN}                        @${FIRMWARE}/shell.elf

*** Keywords ***
Shell Is Ready
    Execute Command           mach create
    Execute Command           machine LoadPlatformDescription @platforms/boards/nucleo_f429zi.repl
    Execute Command           sysbus LoadELF ${BIN}
    Create Terminal Tester    ${UART}
    Wait For Prompt On Uart   shell>

*** Test Cases ***
A Failing String Should Fail The Next Wait
    Shell Is Ready
    Register Failing Uart String    PANIC
    Write Line To Uart        panic
    Run Keyword And Expect Error    *Test failing entry has been found on UART:*PANIC: requested*
    ...                       Wait For Prompt On Uart    shell>

A Failing Regex Should Fail The Next Wait
    Shell Is Ready
    Register Failing Uart String    P[A-Z]+C:    treatAsRegex=true
    Write Line To Uart        panic
    Run Keyword And Expect Error    *failing entry*    Wait For Line On Uart    never printed    timeout=0.5

An Unregistered Failing String Should Not Fail
    Shell Is Ready
    Register Failing Uart String    PANIC
    Unregister Failing Uart String    PANIC
    Write Line To Uart        panic
    Wait For Line On Uart     PANIC: requested
    Run Keyword And Expect Error    *entry not found*    Unregister Failing Uart String    PANIC

Failing Strings Belong To Their Test
    Shell Is Ready
    Write Line To Uart        panic
    Wait For Line On Uart     PANIC: requested
