; Loopback Studio test kernel that reports its multiboot modules: for each one, the command line
; the boot loader gave it and the module's first bytes (up to a newline or 32 bytes), on COM1:
;   modules: 2
;   module: /path/a.txt first args | alpha
;   module: /path/b.txt | bravo
;   modules done
; then it asks QEMU's isa-debug-exit device (port 0xF4, when present) to quit, and halts.
; Build: nasm -f elf32 modules.asm -o modules.o && ld -m elf_i386 -n -Ttext 0x100000 -o modules.elf modules.o
bits 32

; Multiboot Specification 0.6.96: flags 0 (an ELF needs no address fields); the boot loader still
; passes the information structure in EBX, with flags bit 3 set when mods_count/mods_addr are valid.
MULTIBOOT_MAGIC equ 0x1BADB002
MULTIBOOT_FLAGS equ 0
MBI_FLAGS       equ 0
MBI_MODS_COUNT  equ 20
MBI_MODS_ADDR   equ 24
MOD_START       equ 0            ; struct module: mod_start, mod_end, string, reserved (16 bytes)
MOD_END         equ 4
MOD_STRING      equ 8
MOD_SIZE        equ 16

COM1     equ 0x3F8
LSR_THRE equ 0x20
DEBUG_EXIT equ 0xF4

section .text
align 4
    dd MULTIBOOT_MAGIC, MULTIBOOT_FLAGS, -(MULTIBOOT_MAGIC + MULTIBOOT_FLAGS)

global _start
_start:
    cli
    mov esp, stack_top
    mov ebp, ebx                    ; the multiboot information
    mov esi, text_modules
    call puts
    xor ecx, ecx
    test dword [ebp + MBI_FLAGS], 1 << 3
    jz .count
    mov ecx, [ebp + MBI_MODS_COUNT]
.count:
    mov eax, ecx
    call putdec
    call newline
    mov edi, [ebp + MBI_MODS_ADDR]
.next_module:
    test ecx, ecx
    jz .done
    push ecx
    mov esi, text_module
    call puts
    mov esi, [edi + MOD_STRING]
    test esi, esi
    jz .no_string
    call puts
.no_string:
    mov esi, text_bar
    call puts
    mov esi, [edi + MOD_START]
    mov edx, [edi + MOD_END]
    mov ecx, 32
.next_byte:
    cmp esi, edx
    jae .module_end
    mov bl, [esi]
    cmp bl, 10
    je .module_end
    cmp bl, 32
    jb .module_end
    cmp bl, 126
    ja .module_end
    call putc
    inc esi
    dec ecx
    jnz .next_byte
.module_end:
    call newline
    add edi, MOD_SIZE
    pop ecx
    dec ecx
    jmp .next_module
.done:
    mov esi, text_done
    call puts
    call newline
    mov al, 0x10
    out DEBUG_EXIT, al
.halt:
    hlt
    jmp .halt

; putc: BL to COM1, once its transmit register is empty. Keeps every register but AL.
putc:
    push edx
    mov dx, COM1 + 5
.wait:
    in al, dx
    test al, LSR_THRE
    jz .wait
    mov al, bl
    mov dx, COM1
    out dx, al
    pop edx
    ret

; puts: the NUL-terminated string at ESI. Keeps every register but AL, BL and ESI.
puts:
    mov bl, [esi]
    test bl, bl
    jz .end
    call putc
    inc esi
    jmp puts
.end:
    ret

newline:
    mov bl, 13
    call putc
    mov bl, 10
    call putc
    ret

; putdec: EAX (0–99) in decimal.
putdec:
    push edx
    push ecx
    xor edx, edx
    mov ecx, 10
    div ecx
    test eax, eax
    jz .units
    mov bl, al
    add bl, '0'
    call putc
.units:
    mov bl, dl
    add bl, '0'
    call putc
    pop ecx
    pop edx
    ret

section .rodata
text_modules: db 'modules: ', 0
text_module:  db 'module: ', 0
text_bar:     db ' | ', 0
text_done:    db 'modules done', 0

section .bss
align 16
stack: resb 4096
stack_top:
