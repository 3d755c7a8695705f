*** Test Cases ***
Unknown Arguments Should Fail Naming Them And The Accepted Ones
    Execute Command           mach create
    Execute Command           sysbus LoadELF @${FIRMWARE}/shell.elf
    Create Terminal Tester    sysbus.uart0
    Run Keyword And Expect Error    *Write Line To Uart: unknown argument 'waitForEko' (accepted: content, testerId, waitForEcho, pauseEmulation)*
    ...                       Write Line To Uart    x    waitForEko=false
    Run Keyword And Expect Error    *Wait For Line On Uart: unknown argument 'regex' (accepted: content, timeout, testerId, treatAsRegex, includeUnfinishedLine, pauseEmulation, matchNextLine)*
    ...                       Wait For Line On Uart    x    regex=true
    Run Keyword And Expect Error    *Create Terminal Tester: unknown argument 'board'*machine*
    ...                       Create Terminal Tester    sysbus.uart0    board=server

Renode's Argument Names Should Be Accepted
    Execute Command           mach create    machine=${None}
    Execute Command           sysbus LoadELF @${FIRMWARE}/shell.elf
    ${id}=                    Create Terminal Tester    uart=sysbus.uart0    timeout=2    machine=${None}    endLineOption=TreatLineFeedAsEndLine
    ...                       defaultPauseEmulation=true    defaultWaitForEcho=true    defaultMatchNextLine=false    binaryMode=false
    Wait For Prompt On Uart   prompt=shell>    testerId=${id}    timeout=1    treatAsRegex=false    pauseEmulation=true
    Write Line To Uart        content=echo yes    testerId=${id}    waitForEcho=true    pauseEmulation=true
    Wait For Line On Uart     content=yes    timeout=1    testerId=${id}    treatAsRegex=false    includeUnfinishedLine=false
    ...                       pauseEmulation=true    matchNextLine=false
    Should Not Be On Uart     content=no    timeout=0.01    testerId=${id}    treatAsRegex=false    includeUnfinishedLine=true
    Test If Uart Is Idle      timeout=0.01    testerId=${id}    pauseEmulation=true
