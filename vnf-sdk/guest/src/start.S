/* Guest runtime entry (nfv/guest/boot_abi.hpp): 64-bit mode, CPL 0, rdi =
 * BootInfo. The boot stack is kCpuStackSize-aligned with CPU 0's CpuLocal
 * pointer in its lowest word (nfv/guest/cpu.hpp: this_cpu()). On PVM the first act is registering the virtual-IF page (int $0x1b,
 * rax = 0x100c SET_VIF_GPA): until then every CPL 0 instruction is emulated
 * (reference/pvm/README.md). The CPU exception stubs push a uniform frame
 * (vector, error code, registers) and call nfv_guest_fault, which reports and
 * powers off. */
	.code64
	.section .text.boot, "ax"
	.globl _start
_start:
	cli
	lea __stack_top(%rip), %rsp
	lea nfv_guest_cpus(%rip), %rax
	mov %rax, nfv_guest_boot_stack(%rip)
	xor %ebp, %ebp
	mov %rdi, %r12
	cmpl $2, 12(%rdi)              /* BootInfo::platform == pvm */
	jne 1f
	mov $0x100c, %eax
	lea nfv_guest_vif(%rip), %rbx
	xor %ecx, %ecx
	xor %edx, %edx
	int $0x1b
	mov %rax, nfv_guest_vif_status(%rip)
1:	mov %r12, %rdi
	call nfv_guest_boot            /* never returns */
2:	hlt
	jmp 2b

/* Entry of every other CPU (the start_cpu hypercall, nfv/guest/cpu.hpp):
 * rdi = its CpuLocal, rsp = the top of its stack, interrupts disabled. On PVM
 * it registers its own virtual-IF page first, as _start did. */
	.globl nfv_guest_ap_entry
nfv_guest_ap_entry:
	cli
	mov %rdi, %r12
	xor %ebp, %ebp
	cmpl $0, 52(%r12)              /* CpuLocal::pvm */
	je 1f
	mov $0x100c, %eax
	mov (%r12), %rbx               /* CpuLocal::vif */
	xor %ecx, %ecx
	xor %edx, %edx
	int $0x1b
	mov %rax, 8(%r12)              /* CpuLocal::vif_status */
1:	mov %r12, %rdi
	call nfv_guest_ap_main         /* never returns */
2:	hlt
	jmp 2b

/* Exception stubs: vectors with a CPU-pushed error code get none pushed here. */
	.text
.macro STUB vec, has_error
	.align 16
exc_\vec:
	.if \has_error == 0
	pushq $0
	.endif
	pushq $\vec
	jmp exc_common
.endm
	STUB 0,0;  STUB 1,0;  STUB 2,0;  STUB 3,0;  STUB 4,0;  STUB 5,0;  STUB 6,0;  STUB 7,0
	STUB 8,1;  STUB 9,0;  STUB 10,1; STUB 11,1; STUB 12,1; STUB 13,1; STUB 14,1; STUB 15,0
	STUB 16,0; STUB 17,1; STUB 18,0; STUB 19,0; STUB 20,0; STUB 21,1; STUB 22,0; STUB 23,0
	STUB 24,0; STUB 25,0; STUB 26,0; STUB 27,0; STUB 28,0; STUB 29,1; STUB 30,1; STUB 31,0

exc_common:
	push %rax; push %rbx; push %rcx; push %rdx; push %rsi; push %rdi; push %rbp
	push %r8; push %r9; push %r10; push %r11; push %r12; push %r13; push %r14; push %r15
	mov %rsp, %rdi                 /* FaultFrame* */
	and $-16, %rsp
	call nfv_guest_fault           /* never returns */
3:	hlt
	jmp 3b

/* Interrupt handler for every vector the runtime uses (queues, APIC timer):
 * count (in this CPU's CpuLocal, found from the interrupted stack pointer),
 * EOI, and when it interrupted the PVM halt sequence between enabling
 * interrupts and the HALT hypercall, return past the hypercall so the vCPU
 * does not sleep with the interrupt's work pending (nfv/guest/interrupts.hpp). */
.macro THIS_CPU reg, frame_rsp
	mov \frame_rsp, \reg             /* the interrupted RSP: on this CPU's stack */
	and $-65536, \reg                /* kCpuStackSize */
	mov (\reg), \reg                 /* its CpuLocal */
.endm
	.align 16
	.globl nfv_guest_irq_stub
nfv_guest_irq_stub:
	push %rax
	push %rcx
	THIS_CPU %rcx, 40(%rsp)
	incq 16(%rcx)                  /* CpuLocal::irq_count (only this CPU writes it) */
	mov $0xfee000b0, %eax          /* local APIC EOI register */
	movl $0, (%rax)
	mov 16(%rsp), %rax             /* the interrupted RIP */
	push %rdx
	lea halt_window(%rip), %rdx
	cmp %rdx, %rax
	jb 1f
	lea halt_done(%rip), %rdx
	cmp %rdx, %rax
	jae 1f
	mov %rdx, 24(%rsp)             /* skip the halt */
	incq 40(%rcx)                  /* CpuLocal::halts_skipped */
1:	pop %rdx
	pop %rcx
	pop %rax
	iretq

	.align 16
	.globl nfv_guest_timer_stub
nfv_guest_timer_stub:              /* the halt's bounding timer: counted apart */
	push %rcx
	THIS_CPU %rcx, 32(%rsp)
	incq 24(%rcx)                  /* CpuLocal::timer_count */
	pop %rcx
	jmp nfv_guest_irq_stub

	.align 16
	.globl nfv_guest_spurious_stub
nfv_guest_spurious_stub:           /* spurious APIC vector: no EOI (Intel SDM 11.9) */
	iretq

/* void nfv_guest_halt(uint8_t* vif): waits for an interrupt with interrupts
 * enabled; returns with them masked again. vif: this CPU's virtual-IF cell on
 * PVM, null on hardware virtualization. */
	.align 16
	.globl nfv_guest_halt
nfv_guest_halt:
	test %rdi, %rdi
	jz 3f
	push %rbx
	movb $1, (%rdi)                /* vIF on: from here an interrupt may come */
halt_window:
	cmpb $0, 1(%rdi)               /* one arrived while masked: this exit delivers it */
	je 2f
	out %al, $0x80
2:	mov $0x1009, %eax              /* PVM_HC_HALT */
	xor %ebx, %ebx
	xor %ecx, %ecx
	xor %edx, %edx
	int $0x1b
halt_done:
	movb $0, (%rdi)
	pop %rbx
	ret
3:	sti
	hlt
	cli
	ret

	.section .rodata
	.align 8
	.globl nfv_guest_exception_stubs
nfv_guest_exception_stubs:
	.irp v, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
	.quad exc_\v
	.endr

	.section .bss
	.align 4096
	.globl nfv_guest_vif
nfv_guest_vif:                     /* one virtual-IF page per CPU (kMaxCpus) */
	.skip 4096 * 8
	.globl nfv_guest_vif_status
nfv_guest_vif_status:
	.skip 8
	.align 65536                   /* kCpuStackSize: this_cpu() masks RSP */
nfv_guest_boot_stack:              /* lowest word: CPU 0's CpuLocal* */
	.skip 65536
	.globl __stack_top
__stack_top:

	.section .note.GNU-stack, "", @progbits
