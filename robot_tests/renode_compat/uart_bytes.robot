*** Variables ***
${UART}                       sysbus.uart0
${BIN}                        @${FIRMWARE}/shell.elf

*** Keywords ***
Binary Shell
    Execute Command           mach create
    Execute Command           machine LoadPlatformDescription @platforms/boards/stm32f7_discovery-bb.repl
    Execute Command           sysbus LoadELF ${BIN}
    Create Terminal Tester    ${UART}    binaryMode=true
    Wait For Bytes On Uart    73 68 65 6c 6c 3e 20
    Write To Uart             bytes\r

*** Test Cases ***
Should Wait For Raw Bytes
    Binary Shell
    ${r}=                     Wait For Bytes On Uart    00 01 7f 80 fe ff 0d 0a
    ${want}=                  Convert To Bytes    00 01 7f 80 fe ff 0d 0a    hex
    Should Be Equal           ${r.Content}    ${want}
    Should Be True            ${r.Timestamp} > 0

Match Start Should Only Match At The Start
    Binary Shell
    Run Keyword And Expect Error    *Bytes >>00 01<<*
    ...                       Wait For Bytes On Uart    00 01    matchStart=true    timeout=0.1
    Wait For Bytes On Uart    00 01

Should Match Bytes With A Regex
    Binary Shell
    ${r}=                     Wait For Bytes On Uart    \\x7f(.)\\xfe    treatAsRegex=true
    ${want}=                  Convert To Bytes    80    hex
    Should Be Equal           ${r.Groups}[0]    ${want}

Text Waits Should Fail On A Binary Tester
    Binary Shell
    Run Keyword And Expect Error    *tester configured in binary mode*binaryMode=False*
    ...                       Wait For Line On Uart    bytes
